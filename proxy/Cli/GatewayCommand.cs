using System.Net;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;
using Herald.Xds.ControlPlane;
using Herald.Xds.Grpc;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald gateway [--config herald.yaml] [--demo]</c>: the control plane and the data
/// plane in one process, joined by an in-memory ADS stream (the same client state machine
/// as over gRPC, with no socket). The registry API takes instances; <c>--demo</c> starts
/// two demo upstreams and registers them as service <c>demo</c> (subsets v1 and v2).
/// </summary>
internal static class GatewayCommand
{
    public const string DefaultApi = "127.0.0.1:15014";

    public const string Usage = "usage: herald gateway [--config herald.yaml] [--gateway NAME] [--admin ADDR] [--api ADDR] [--xds ADDR] "
        + "[--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]] [--dns-server HOST:PORT] [--demo] " + DrainOptions.Usage;

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = CliArguments.Parse(args, ["--config", "--admin", "--api", "--xds", "--gateway", "--store", "--dns-server", .. DrainOptions.Options], ["--demo"], out var error);
        if (parsed is null)
        {
            Console.Error.WriteLine($"herald gateway: {error}\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        IPEndPoint admin;
        IPEndPoint api;
        IPEndPoint? xds;
        IPEndPoint? dnsServer;
        TimeSpan drainTime;
        try
        {
            drainTime = DrainOptions.Parse(parsed[DrainOptions.DrainTimeOption], parsed[DrainOptions.DrainStrategyOption]);
            admin = ProxyCommand.ParseAddress(parsed["--admin"] ?? ProxyCommand.DefaultAdmin, "--admin");
            api = ProxyCommand.ParseAddress(parsed["--api"] ?? DefaultApi, "--api");
            xds = parsed["--xds"] is { } x ? ProxyCommand.ParseAddress(x, "--xds") : null;
            dnsServer = parsed["--dns-server"] is { } dns ? ProxyCommand.ParseAddress(dns, "--dns-server") : null;
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"herald gateway: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        var time = TimeProvider.System;
        MeshConfig? embedded = null;
        // With --store and no --config the gateway serves the mesh stored in etcd, not the example.
        if (parsed["--config"] is null && parsed["--store"] is null)
        {
            using var stream = typeof(GatewayCommand).Assembly.GetManifestResourceStream("Herald.Examples.herald.yaml")!;
            using var reader = new StreamReader(stream);
            embedded = MeshConfigLoader.Load(await reader.ReadToEndAsync().ConfigureAwait(false));
        }

        await using var host = await ControlPlaneHost.StartAsync(parsed["--config"], embedded, time, parsed["--store"], dnsServer).ConfigureAwait(false);
        if (host is null)
        {
            return CommandLine.ExitBadConfig;
        }

        var gateway = parsed["--gateway"] ?? (host.Ads.CurrentMesh.Gateways.Count > 0 ? host.Ads.CurrentMesh.Gateways[0].Name : null);
        if (gateway is null)
        {
            Console.Error.WriteLine("herald gateway: the mesh file defines no gateway; add one under 'gateways' or pass --gateway NAME");
            return CommandLine.ExitBadConfig;
        }

        await using var registryApi = await RegistryApi.StartAsync(api, host.Registry, host.Ads, host.Demand, CancellationToken.None).ConfigureAwait(false);
        host.UseApiAddress(registryApi.BoundAddress);
        GrpcServer? grpc = null;
        if (xds is not null)
        {
            var services = new GrpcServiceRegistry();
            ControlPlaneCommand.MapAds(services, host.Ads);
            grpc = await GrpcServer.StartAsync(xds, services, CancellationToken.None).ConfigureAwait(false);
        }

        DemoUpstream? demoV1 = null;
        DemoUpstream? demoV2 = null;
        if (parsed.Has("--demo"))
        {
            demoV1 = await DemoUpstream.StartAsync("demo v1", new IPEndPoint(IPAddress.Loopback, 18081), CancellationToken.None).ConfigureAwait(false);
            demoV2 = await DemoUpstream.StartAsync("demo v2", new IPEndPoint(IPAddress.Loopback, 18082), CancellationToken.None).ConfigureAwait(false);
            await host.Registry.RegisterAsync("demo", "127.0.0.1", 18081, new Dictionary<string, string> { ["version"] = "v1" }, "1.0.0", null, CancellationToken.None).ConfigureAwait(false);
            await host.Registry.RegisterAsync("demo", "127.0.0.1", 18082, new Dictionary<string, string> { ["version"] = "v2" }, "2.0.0", null, CancellationToken.None).ConfigureAwait(false);
        }

        try
        {
            var stats = new StatsStore();
            var bootstrap = BootstrapLoader.Parse($$"""
                node:
                  id: "gateway-{{gateway}}"
                  cluster: "{{gateway}}"
                  metadata: { HERALD_GATEWAY: "{{gateway}}" }
                """);
            var config = BootstrapTranslator.Translate(bootstrap, stats);
            var node = bootstrap.Node;
            return await ProxyCommand.RunAsync(
                config,
                admin,
                stats,
                plane => Announce(plane, registryApi.BoundAddress, grpc?.BoundAddress, parsed["--config"], parsed.Has("--demo")),
                target => AdsConnector.InProcess(node, host.Ads.HandleStateOfTheWorldAsync, target, stats, time),
                drainTime).ConfigureAwait(false);
        }
        finally
        {
            if (grpc is not null)
            {
                await grpc.DisposeAsync().ConfigureAwait(false);
            }

            if (demoV1 is not null)
            {
                await demoV1.DisposeAsync().ConfigureAwait(false);
            }

            if (demoV2 is not null)
            {
                await demoV2.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void Announce(DataPlane plane, IPEndPoint api, IPEndPoint? xds, string? configPath, bool demo)
    {
        Console.Out.WriteLine($"herald gateway: registry API on http://{api}{(xds is null ? string.Empty : $", xDS (ADS) on {xds}")}");
        if (!demo)
        {
            return;
        }

        Console.Out.WriteLine($"""

            The demo gateway is starting (its listener appears when the control plane's config arrives). Try:
              curl -s http://127.0.0.1:10000/                      # 80% v1, 20% v2
              curl -s -H 'x-canary: true' http://127.0.0.1:10000/  # always v2
              curl -s http://{api}/v1/registry/services/demo       # the registry
              curl -s http://{plane.AdminAddress}/config_dump         # what the gateway received
            {(configPath is null ? "Run with --config docs/examples/herald.yaml to edit the weights live." : $"Edit the split weights in {configPath}: the gateway follows within seconds.")}
            Stop with Ctrl+C.

            """);
    }
}
