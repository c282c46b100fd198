using System.Net;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald demo</c>: two demo upstreams and the proxy on the shipped example bootstrap,
/// so a newcomer sees traffic flow with nothing else installed.
/// </summary>
internal static class DemoCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        if (args.Length > 0)
        {
            Console.Error.WriteLine($"herald demo: takes no options (got '{args[0]}')");
            return CommandLine.ExitBadConfig;
        }

        var stats = new StatsStore();
        ProxyConfig config;
        using (var stream = typeof(DemoCommand).Assembly.GetManifestResourceStream("Herald.Examples.demo.yaml")
            ?? throw new InvalidOperationException("the demo bootstrap is missing from the executable"))
        using (var reader = new StreamReader(stream))
        {
            config = BootstrapTranslator.Translate(BootstrapLoader.Parse(await reader.ReadToEndAsync().ConfigureAwait(false)), stats);
        }

        await using var a = await DemoUpstream.StartAsync("demo-a", new IPEndPoint(IPAddress.Loopback, 18081), CancellationToken.None).ConfigureAwait(false);
        await using var b = await DemoUpstream.StartAsync("demo-b", new IPEndPoint(IPAddress.Loopback, 18082), CancellationToken.None).ConfigureAwait(false);
        return await ProxyCommand.RunAsync(config, config.AdminAddress!, stats, plane =>
        {
            var listener = plane.Listeners[0].BoundAddress;
            Console.Out.WriteLine($"""

                Herald demo is running. Try:
                  curl -s http://{listener}/            # 80% demo-a, 20% demo-b
                  curl -s http://{listener}/a           # always demo-a
                  curl -s --http2-prior-knowledge http://{listener}/b
                  curl -s http://{listener}/hello       # a direct response
                  curl -s http://{plane.AdminAddress}/stats/prometheus | grep upstream_rq_total
                  curl -s http://{plane.AdminAddress}/config_dump
                Stop with Ctrl+C.

                """);
        }).ConfigureAwait(false);
    }
}
