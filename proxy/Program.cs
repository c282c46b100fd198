using Herald.Proxy.Cli;

// Socket completions run inline on the epoll thread: one thread hand-off less per read.
// Herald's handlers never block, which that mode requires. The runtime reads this once,
// at its first socket, so it is set before anything else. HERALD_INLINE_COMPLETIONS=0 opts out.
if (Environment.GetEnvironmentVariable("HERALD_INLINE_COMPLETIONS") != "0"
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

return await CommandLine.RunAsync(args).ConfigureAwait(false);
