using System.Security.Cryptography;
using Herald.Proxy.Observability;

namespace Herald.Proxy.Tls;

/// <summary>
/// A certificate and key read from PEM files, reloaded when their contents change. The check
/// runs on a handshake at most once per <see cref="CheckInterval"/> (no timer to own or stop);
/// a pair that does not load (a key written before its certificate, say) keeps the last good
/// certificate serving and is tried again at the next check.
/// </summary>
internal sealed class FileCertificateSource : ICertificateSource
{
    public static readonly TimeSpan CheckInterval = TimeSpan.FromSeconds(1);

    /// <summary>Certificate and key files larger than this are refused (a PEM chain is a few KiB).</summary>
    public const int MaxFileBytes = 1024 * 1024;

    private readonly string _chainPath;
    private readonly string _keyPath;
    private readonly string? _password;
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private TlsCertificate _current;
    private byte[] _chainBytes;
    private byte[] _keyBytes;
    private long _nextCheck;
    private int _checking;

    /// <summary>Loads the pair now; throws <see cref="IOException"/> or <see cref="CryptographicException"/> when it cannot.</summary>
    public FileCertificateSource(string chainPath, string keyPath, string? password, TimeProvider time)
    {
        _chainPath = chainPath;
        _keyPath = keyPath;
        _password = password;
        _time = time;
        _intervalTicks = (long)(CheckInterval.TotalSeconds * time.TimestampFrequency);
        _chainBytes = ReadBounded(chainPath);
        _keyBytes = ReadBounded(keyPath);
        _current = Load(_chainBytes, _keyBytes, password);
        _nextCheck = time.GetTimestamp() + _intervalTicks;
    }

    /// <summary>How many times a changed pair was loaded and took over.</summary>
    public int Reloads { get; private set; }

    public TlsCertificate? Current
    {
        get
        {
            if (_time.GetTimestamp() >= Volatile.Read(ref _nextCheck))
            {
                CheckForChange();
            }

            return Volatile.Read(ref _current);
        }
    }

    private void CheckForChange()
    {
        if (Interlocked.Exchange(ref _checking, 1) != 0)
        {
            return;
        }

        try
        {
            Volatile.Write(ref _nextCheck, _time.GetTimestamp() + _intervalTicks);
            var chain = ReadBounded(_chainPath);
            var key = ReadBounded(_keyPath);
            if (chain.AsSpan().SequenceEqual(_chainBytes) && key.AsSpan().SequenceEqual(_keyBytes))
            {
                return;
            }

            var certificate = Load(chain, key, _password);
            _chainBytes = chain;
            _keyBytes = key;
            Volatile.Write(ref _current, certificate);
            Reloads++;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            // Mid-rotation or broken: the last good certificate keeps serving.
            ProcessLog.Error($"reloading certificate {_chainPath} (key {_keyPath}); the previous certificate stays in use", e);
        }
        finally
        {
            Volatile.Write(ref _checking, 0);
        }
    }

    private static TlsCertificate Load(byte[] chain, byte[] key, string? password) =>
        TlsCertificate.FromPem(System.Text.Encoding.ASCII.GetString(chain), System.Text.Encoding.ASCII.GetString(key), password);

    private static byte[] ReadBounded(string path)
    {
        using var file = File.OpenRead(path);
        if (file.Length > MaxFileBytes)
        {
            throw new IOException($"{path} is larger than {MaxFileBytes} bytes; a PEM certificate or key is a few KiB");
        }

        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        return bytes;
    }
}
