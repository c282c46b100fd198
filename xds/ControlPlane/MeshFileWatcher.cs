namespace Herald.Xds.ControlPlane;

/// <summary>
/// Watches mesh.yaml: file-system events plus a content check on a timer (events are lost on
/// some file systems and editors replace files). A good edit is handed to the callback; a bad
/// one is kept in <see cref="LastError"/> and the previous config keeps serving.
/// </summary>
public sealed class MeshFileWatcher : IDisposable
{
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    private readonly string _path;
    private readonly Action<MeshConfig> _onChange;
    private readonly Lock _lock = new();
    private readonly ITimer _poll;
    private readonly FileSystemWatcher? _watcher;
    private string? _lastText;
    private MeshConfig _current;
    private string _currentText;

    /// <summary>Loads the file now (throwing <see cref="MeshConfigException"/> if it is bad) and starts watching.</summary>
    public MeshFileWatcher(string path, Action<MeshConfig> onChange, TimeProvider time, TimeSpan? pollInterval = null, bool useFileSystemEvents = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(onChange);
        ArgumentNullException.ThrowIfNull(time);
        _path = Path.GetFullPath(path);
        _onChange = onChange;
        _lastText = File.ReadAllText(_path);
        _current = MeshConfigLoader.Load(_lastText);
        _currentText = _lastText;
        var interval = pollInterval ?? DefaultPollInterval;
        _poll = time.CreateTimer(_ => Check(), null, interval, interval);
        if (!useFileSystemEvents)
        {
            return;
        }

        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!, Path.GetFileName(_path))
            {
                NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            _watcher.Changed += (_, _) => Check();
            _watcher.Created += (_, _) => Check();
            _watcher.Renamed += (_, _) => Check();
            _watcher.EnableRaisingEvents = true;
        }
        catch (IOException)
        {
            // Out of inotify watches: the timer alone still notices edits.
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    public MeshConfig Current
    {
        get
        {
            lock (_lock)
            {
                return _current;
            }
        }
    }

    /// <summary>The text of the mesh in <see cref="Current"/> (the last good edit).</summary>
    public string CurrentText
    {
        get
        {
            lock (_lock)
            {
                return _currentText;
            }
        }
    }

    /// <summary>Why the latest edit was refused (names the line), or null once a good edit loads.</summary>
    public string? LastError { get; private set; }

    /// <summary>Reads the file and applies it if its text changed. Returns true when a new config was applied.</summary>
    public bool Check()
    {
        string text;
        try
        {
            text = File.ReadAllText(_path);
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        MeshConfig mesh;
        lock (_lock)
        {
            if (text == _lastText)
            {
                return false;
            }

            // Editors truncate before they write: an empty file is a write in progress, not an empty mesh.
            if (string.IsNullOrWhiteSpace(text))
            {
                LastError = "mesh.yaml is empty; keeping the previous config";
                return false;
            }

            _lastText = text;
            try
            {
                mesh = MeshConfigLoader.Load(text);
            }
            catch (MeshConfigException e)
            {
                LastError = e.Message;
                return false;
            }

            _current = mesh;
            _currentText = text;
            LastError = null;
        }

        _onChange(mesh);
        return true;
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _poll.Dispose();
    }
}
