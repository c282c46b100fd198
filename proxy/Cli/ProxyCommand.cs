namespace Herald.Proxy.Cli;

/// <summary><c>herald proxy --bootstrap FILE [--admin ADDR]</c>.</summary>
internal static class ProxyCommand
{
    public static Task<int> RunAsync(string[] args)
    {
        _ = args;
        return Task.FromResult(CommandLine.ExitOk);
    }
}
