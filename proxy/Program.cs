using Herald.Proxy.Cli;

return await CommandLine.RunAsync(args).ConfigureAwait(false);
