using System.Net;
using Envoy.Service.Discovery.V3;
using Herald.Xds;
using Herald.Xds.ControlPlane;
using Herald.Xds.Grpc;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald control-plane --config mesh.yaml [--xds ADDR] [--api ADDR] [--store etcd://HOST:PORT[,...]]</c>.
/// With an etcd store, several replicas serve one mesh and <c>--config</c> is optional (the
/// replicas without it serve the mesh another replica stored).
/// </summary>
internal static class ControlPlaneCommand
{
    public const string DefaultXds = "0.0.0.0:15010";
    public const string DefaultApi = "0.0.0.0:15014";

    public const string Usage = $"usage: herald control-plane --config mesh.yaml [--xds {DefaultXds}] [--api {DefaultApi}] [--store etcd://HOST:PORT[,HOST:PORT...][/PREFIX]] [--dns-server HOST:PORT]";

    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = CliArguments.Parse(args, ["--config", "--xds", "--api", "--store", "--dns-server"], [], out var error);
        if (parsed is null || (parsed["--config"] is null && parsed["--store"] is null))
        {
            Console.Error.WriteLine($"herald control-plane: {error ?? "--config mesh.yaml is required (or --store etcd://HOST:PORT to serve the mesh stored there)"}\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        IPEndPoint xds;
        IPEndPoint api;
        IPEndPoint? dnsServer;
        try
        {
            xds = ProxyCommand.ParseAddress(parsed["--xds"] ?? DefaultXds, "--xds");
            api = ProxyCommand.ParseAddress(parsed["--api"] ?? DefaultApi, "--api");
            dnsServer = parsed["--dns-server"] is { } dns ? ProxyCommand.ParseAddress(dns, "--dns-server") : null;
        }
        catch (Config.ConfigException e)
        {
            Console.Error.WriteLine($"herald control-plane: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        await using var host = await ControlPlaneHost.StartAsync(parsed["--config"], null, TimeProvider.System, parsed["--store"], dnsServer).ConfigureAwait(false);
        if (host is null)
        {
            return CommandLine.ExitBadConfig;
        }

        var services = new GrpcServiceRegistry();
        MapAds(services, host.Ads);
        await using var grpc = await GrpcServer.StartAsync(xds, services, CancellationToken.None).ConfigureAwait(false);
        await using var registryApi = await RegistryApi.StartAsync(api, host.Registry, host.Ads, host.Demand, CancellationToken.None).ConfigureAwait(false);
        host.UseApiAddress(registryApi.BoundAddress);
        Console.Out.WriteLine($"herald control-plane: xDS (ADS) on {grpc.BoundAddress}, registry API on http://{registryApi.BoundAddress}");
        await WaitForStopAsync().ConfigureAwait(false);
        return CommandLine.ExitOk;
    }

    /// <summary>Serves both ADS flavours (state of the world and delta) on a gRPC registry.</summary>
    public static void MapAds(GrpcServiceRegistry services, AdsServer ads)
    {
        services.MapDuplex<DiscoveryRequest, DiscoveryResponse>(
            XdsTypeUrls.StreamAggregatedResourcesPath,
            DiscoveryRequest.Parser,
            (stream, context) => ads.HandleStateOfTheWorldAsync(stream, context.CancellationToken));
        services.MapDuplex<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(
            XdsTypeUrls.DeltaAggregatedResourcesPath,
            DeltaDiscoveryRequest.Parser,
            (stream, context) => ads.HandleDeltaAsync(stream, context.CancellationToken));
    }

    /// <summary>Returns on SIGTERM or SIGINT.</summary>
    public static async Task WaitForStopAsync()
    {
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        await stopped.Task.ConfigureAwait(false);
    }
}
