namespace Herald.Proxy.Upstream;

/// <summary>
/// Socket scheduling shared by listeners and upstream connections. Inline scheduling runs
/// pipe continuations on the socket's I/O thread, removing a thread hand-off per read;
/// Herald's handlers never block, which is what that mode requires.
/// Set HERALD_INLINE_SCHEDULING=0 to turn it off.
/// </summary>
internal static class TransportSettings
{
    public static readonly bool InlineScheduling =
        Environment.GetEnvironmentVariable("HERALD_INLINE_SCHEDULING") != "0";
}
