namespace Herald.Proxy.Observability;

/// <summary>
/// Herald's own diagnostics on stderr: failures that are not a peer's fault. Rate-limited
/// so a fault on the request path cannot flood the log.
/// </summary>
internal static class ProcessLog
{
    private static long _windowStart;
    private static int _inWindow;

    public static void Error(string what, Exception exception)
    {
        var now = Environment.TickCount64;
        if (now - Volatile.Read(ref _windowStart) > 1000)
        {
            Volatile.Write(ref _windowStart, now);
            Volatile.Write(ref _inWindow, 0);
        }

        if (Interlocked.Increment(ref _inWindow) > 20)
        {
            return;
        }

        Console.Error.WriteLine($"herald: error: {what}: {exception}");
    }
}
