using System.Diagnostics;
using System.Text;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// A child process whose stdout and stderr are captured line by line; killed with its
/// whole tree on dispose, so a failing test never leaves peers running.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable, IDisposable
{
    // Children still running when the test host exits (a timed-out test never reaches its
    // dispose) are killed then, so no peer outlives the run.
    private static readonly HashSet<ChildProcess> Live = [];

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly object _gate = new();
    private readonly TaskCompletionSource _stdoutClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _stderrClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _outputChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _disposed;

    static ChildProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            ChildProcess[] live;
            lock (Live)
            {
                live = [.. Live];
            }

            foreach (var child in live)
            {
                child.Kill();
            }
        };
    }

    private ChildProcess(Process process, string description)
    {
        _process = process;
        Description = description;
    }

    /// <summary>The command line, for failure messages.</summary>
    public string Description { get; }

    public int Id => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string Stderr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public static ChildProcess Start(
        string fileName,
        IEnumerable<string> arguments,
        string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null,
        bool redirectStdin = false)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectStdin,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                info.Environment[key] = value;
            }
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(process, fileName + " " + string.Join(' ', info.ArgumentList));
        if (!process.Start())
        {
            throw new InvalidOperationException($"could not start {child.Description}");
        }

        lock (Live)
        {
            Live.Add(child);
        }

        // Read raw text (not lines): a tool's output is kept exactly, final newline or not.
        _ = child.PumpAsync(process.StandardOutput, child._stdout, child._stdoutClosed);
        _ = child.PumpAsync(process.StandardError, child._stderr, child._stderrClosed);
        return child;
    }

    public StreamWriter StandardInput => _process.StandardInput;

    /// <summary>Waits until stdout has a line matching <paramref name="match"/>; returns it.</summary>
    public Task<string> WaitForStdoutLineAsync(Func<string, bool> match, TimeSpan timeout) =>
        WaitForLineAsync(_stdout, _stdoutClosed, "stdout", match, timeout);

    /// <summary>Waits until stderr has a line matching <paramref name="match"/>; returns it.</summary>
    public Task<string> WaitForStderrLineAsync(Func<string, bool> match, TimeSpan timeout) =>
        WaitForLineAsync(_stderr, _stderrClosed, "stderr", match, timeout);

    private async Task<string> WaitForLineAsync(StringBuilder output, TaskCompletionSource closed, string streamName, Func<string, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                // Only complete lines: a half-written "listening 12" must not match before its "3" arrives.
                var lines = output.ToString().Split('\n');
                for (var i = 0; i < lines.Length - 1; i++)
                {
                    var line = lines[i].TrimEnd('\r');
                    if (match(line))
                    {
                        return line;
                    }
                }

                changed = _outputChanged.Task;
            }

            if (_process.HasExited && closed.Task.IsCompleted)
            {
                throw new InvalidOperationException(
                    $"{Description} exited with code {_process.ExitCode} before printing the expected line.\n{Transcript()}");
            }

            try
            {
                await changed.WaitAsync(TimeSpan.FromMilliseconds(250), cts.Token);
            }
            catch (TimeoutException)
            {
                // Re-check the exit state.
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Description}: expected line not printed on {streamName} within {timeout}.\n{Transcript()}");
            }
        }
    }

    /// <summary>Waits for exit (and the end of its output); kills it and throws after <paramref name="timeout"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            await Task.WhenAll(_stdoutClosed.Task, _stderrClosed.Task).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (OperationCanceledException)
        {
            Kill();
            throw new TimeoutException($"{Description} did not exit within {timeout}.\n{Transcript()}");
        }

        return _process.ExitCode;
    }

    /// <summary>stdout and stderr, for assertion messages.</summary>
    public string Transcript()
    {
        const int Max = 8000;
        var stdout = Stdout;
        var stderr = Stderr;
        return $"--- stdout ---\n{Tail(stdout, Max)}\n--- stderr ---\n{Tail(stderr, Max)}";
    }

    /// <summary>Sends a signal (<c>TERM</c>, <c>INT</c>, ...) to a process with <c>kill</c>.</summary>
    public static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Start(Tools.Find("kill", "/bin/kill", "/usr/bin/kill") ?? "kill", ["-" + signal, pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        var code = await kill.WaitForExitAsync(TimeSpan.FromSeconds(10));
        if (code != 0)
        {
            throw new InvalidOperationException($"kill -{signal} {pid} failed ({code}): {kill.Transcript()}");
        }
    }

    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Kill();
        lock (Live)
        {
            Live.Remove(this);
        }

        _process.Dispose();
    }

    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task PumpAsync(StreamReader reader, StringBuilder sink, TaskCompletionSource closed)
    {
        var buffer = new char[8192];
        try
        {
            int read;
            while ((read = await reader.ReadAsync(buffer)) > 0)
            {
                Append(sink, buffer.AsSpan(0, read));
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // The process is gone.
        }
        finally
        {
            closed.TrySetResult();
            Append(sink, []);
        }
    }

    private void Append(StringBuilder sink, ReadOnlySpan<char> text)
    {
        TaskCompletionSource changed;
        lock (_gate)
        {
            sink.Append(text);
            changed = _outputChanged;
            _outputChanged = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    private static string Tail(string text, int max) => text.Length <= max ? text : "..." + text[^max..];
}
