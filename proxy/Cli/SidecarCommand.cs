using System.Net;
using Herald.Proxy.Bootstrap;
using Herald.Proxy.Config;
using Herald.Proxy.Observability.Stats;

namespace Herald.Proxy.Cli;

/// <summary>
/// <c>herald sidecar --xds HOST:PORT[,HOST:PORT...] --node-id ID --cluster NAME</c>: a data plane whose
/// whole configuration comes over ADS, without writing a bootstrap file. Several addresses
/// (control-plane replicas) become endpoints of the ADS cluster: each reconnect tries the next. With
/// <c>--interception REDIRECT|TPROXY</c> it asks the control plane for the virtual listeners
/// that iptables interception needs (node metadata <c>HERALD_INTERCEPTION</c>).
/// </summary>
internal static class SidecarCommand
{
    public const string Usage =
        "usage: herald sidecar --xds HOST:PORT[,HOST:PORT...] --node-id ID --cluster NAME [--service NAME] [--interception REDIRECT|TPROXY] [--admin ADDR] [--delta] " + DrainOptions.Usage;

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Error);

    internal static async Task<int> RunAsync(string[] args, TextWriter stderr)
    {
        var parsed = CliArguments.Parse(args, ["--xds", "--node-id", "--cluster", "--service", "--interception", "--admin", .. DrainOptions.Options], ["--delta"], out var error);
        if (parsed is null || parsed["--xds"] is null || parsed["--node-id"] is null || parsed["--cluster"] is null)
        {
            stderr.WriteLine($"herald sidecar: {error ?? "--xds, --node-id and --cluster are required"}\n{Usage}");
            return CommandLine.ExitBadConfig;
        }

        var stats = new StatsStore();
        ProxyConfig config;
        IPEndPoint admin;
        TimeSpan drainTime;
        try
        {
            drainTime = DrainOptions.Parse(parsed[DrainOptions.DrainTimeOption], parsed[DrainOptions.DrainStrategyOption]);
            var interception = ParseInterception(parsed["--interception"]);
            var yaml = BuildBootstrap(parsed["--xds"]!, parsed["--node-id"]!, parsed["--cluster"]!, parsed["--service"], interception, parsed.Has("--delta"));
            config = BootstrapTranslator.Translate(BootstrapLoader.Parse(yaml), stats);
            admin = ProxyCommand.ParseAddress(parsed["--admin"] ?? ProxyCommand.DefaultAdmin, "--admin");
        }
        catch (ConfigException e)
        {
            stderr.WriteLine($"herald sidecar: invalid configuration: {e.Message}");
            return CommandLine.ExitBadConfig;
        }

        return await ProxyCommand.RunAsync(config, admin, stats, announce: null, drainTime: drainTime).ConfigureAwait(false);
    }

    /// <summary><c>REDIRECT</c> or <c>TPROXY</c> in any case, upper-cased; null when not given.</summary>
    public static string? ParseInterception(string? value)
    {
        if (value is null)
        {
            return null;
        }

        var upper = value.ToUpperInvariant();
        if (upper is not ("REDIRECT" or "TPROXY"))
        {
            throw new ConfigException("--interception", $"'{value}' is not REDIRECT or TPROXY", "Give --interception REDIRECT or --interception TPROXY, matching the --inbound-mode given to herald iptables");
        }

        return upper;
    }

    /// <summary>An Envoy bootstrap with ADS to the given control plane, as YAML.</summary>
    public static string BuildBootstrap(string xds, string nodeId, string cluster, string? service, string? interception, bool delta)
    {
        var endpoints = new List<string>();
        var type = "STATIC";
        foreach (var address in xds.Split(',', StringSplitOptions.TrimEntries))
        {
            var colon = address.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(address[(colon + 1)..], out var port) || port is < 1 or > 65535)
            {
                throw new ConfigException("--xds", $"'{address}' is not HOST:PORT", "Give the control plane's address, for example 127.0.0.1:15010, or several separated by commas");
            }

            var host = address[..colon].Trim('[', ']');
            type = IPAddress.TryParse(host, out _) ? type : "STRICT_DNS";
            endpoints.Add($"- endpoint: {{ address: {{ socket_address: {{ address: \"{host}\", port_value: {port} }} }} }}");
        }

        var fields = new List<string>(2);
        if (service is not null)
        {
            fields.Add($"HERALD_SERVICE: \"{service}\"");
        }

        if (interception is not null)
        {
            fields.Add($"HERALD_INTERCEPTION: \"{interception}\"");
        }

        var metadata = fields.Count == 0 ? string.Empty : $"\n  metadata: {{ {string.Join(", ", fields)} }}";
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
                          {{string.Join("\n              ", endpoints)}}
            """;
    }
}
