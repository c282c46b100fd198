using Herald.Proxy.Cli;

// Socket completions run inline on the epoll thread: one thread hand-off less per read.
// Herald's handlers never block, which that mode requires. The runtime reads this once,
// at its first socket, so it is set before anything else. HERALD_INLINE_COMPLETIONS=0 opts out.
if (Environment.GetEnvironmentVariable("HERALD_INLINE_COMPLETIONS") != "0"
    && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
}

// The shared array pool keeps 32 arrays of a size per core by default; with hundreds of
// HTTP/2 streams in flight (each holding a 16 KB response buffer in the HTTP client) it ran
// dry and every stream allocated its buffers: 46 KB per h2c request instead of 6 KB. The
// pool reads this once, at its first use. It stays bounded: 512 arrays of a size per core.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION") is null)
{
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_BUFFERS_SHAREDARRAYPOOL_MAXARRAYSPERPARTITION", "512");
}

return await CommandLine.RunAsync(args).ConfigureAwait(false);
