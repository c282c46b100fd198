using System.Net;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald sidecar --xds HOST:PORT --node-id ID --cluster NAME</c>: a data plane whose
/// whole configuration comes over ADS, without writing a bootstrap file.
/// </summary>
internal static class SidecarCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var parsed = CliArguments.Parse(args, ["--xds", "--node-id", "--cluster", "--service", "--admin"], ["--delta"], out var error);
        if (parsed is null || parsed["--xds"] is null || parsed["--node-id"] is null || parsed["--cluster"] is null)
        {
            Console.Error.WriteLine($"herald sidecar: {error ?? "--xds, --node-id and --cluster are required"}\n" +
                "usage: herald sidecar --xds HOST:PORT --node-id ID --cluster NAME [--service NAME] [--admin ADDR] [--delta]");
            return CommandLine.ExitBadConfig;
        }

        var stats = new StatsStore();
        ProxyConfig config;
        IPEndPoint admin;
        try
        {
            var yaml = BuildBootstrap(parsed["--xds"]!, parsed["--node-id"]!, parsed["--cluster"]!, parsed["--service"], parsed.Has("--delta"));
            config = BootstrapTranslator.Translate(BootstrapLoader.Parse(yaml), stats);
            admin = ProxyCommand.ParseAddress(parsed["--admin"] ?? ProxyCommand.DefaultAdmin, "--admin");
        }
        catch (ConfigException e)
        {
            Console.Error.WriteLine($"herald sidecar: invalid configuration: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        return await ProxyCommand.RunAsync(config, admin, stats, announce: null).ConfigureAwait(false);
    }

    /// <summary>An Envoy bootstrap with ADS to the given control plane, as YAML.</summary>
    public static string BuildBootstrap(string xds, string nodeId, string cluster, string? service, bool delta)
    {
        var colon = xds.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(xds[(colon + 1)..], out var port) || port is < 1 or > 65535)
        {
            throw new ConfigException("--xds", $"'{xds}' is not HOST:PORT", "Give the control plane's address, for example 127.0.0.1:15010");
        }

        var host = xds[..colon].Trim('[', ']');
        var type = IPAddress.TryParse(host, out _) ? "STATIC" : "STRICT_DNS";
        var metadata = service is null ? string.Empty : $"\n  metadata: {{ HERALD_SERVICE: \"{service}\" }}";
        return $$"""
            node:
              id: "{{nodeId}}"
              cluster: "{{cluster}}"{{metadata}}
            dynamic_resources:
              ads_config:
                api_type: {{(delta ? "DELTA_GRPC" : "GRPC")}}
                transport_api_version: V3
                grpc_services:
                  - envoy_grpc: { cluster_name: herald_xds }
              lds_config: { ads: {}, resource_api_version: V3 }
              cds_config: { ads: {}, resource_api_version: V3 }
            static_resources:
              clusters:
                - name: herald_xds
                  type: {{type}}
                  connect_timeout: 1s
                  typed_extension_protocol_options:
                    envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
                      "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
                      explicit_http_config: { http2_protocol_options: {} }
                  load_assignment:
                    cluster_name: herald_xds
                    endpoints:
                      - lb_endpoints:
                          - endpoint: { address: { socket_address: { address: "{{host}}", port_value: {{port}} } } }
            """;
    }
}
