using System.Net;
using System.Text.Json.Nodes;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>
/// Builds Envoy v3 bootstraps for the end-to-end tests. Each listener gets a free port when it
/// is added; <see cref="HeraldProcess"/> calls the factory again (new ports) on a bind conflict.
/// </summary>
public sealed class BootstrapBuilder
{
    public const string HcmType = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
    public const string RouterType = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
    public const string TcpProxyType = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
    public const string HttpProtocolOptionsType = "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions";

    private readonly JsonArray _listeners = [];
    private readonly JsonArray _clusters = [];
    private readonly Dictionary<string, int> _ports = new(StringComparer.Ordinal);

    /// <summary>The bootstrap as a JSON tree, for tests that need a field the builder does not know.</summary>
    public JsonObject Root => new()
    {
        ["node"] = new JsonObject { ["id"] = "herald-e2e", ["cluster"] = "e2e" },
        ["static_resources"] = new JsonObject
        {
            ["listeners"] = _listeners.DeepClone(),
            ["clusters"] = _clusters.DeepClone(),
        },
    };

    public int ListenerPort(string listener) =>
        _ports.TryGetValue(listener, out var port) ? port : throw new ArgumentException($"no listener '{listener}'", nameof(listener));

    /// <summary>A listener with one http_connection_manager filter and one virtual host for "*".</summary>
    public BootstrapBuilder HttpListener(string name, Action<HttpListenerOptions> configure)
    {
        var options = new HttpListenerOptions();
        configure(options);
        var port = AddPort(name);
        var hcm = new JsonObject
        {
            ["@type"] = HcmType,
            ["stat_prefix"] = options.StatPrefix,
        };
        if (options.Codec is not null)
        {
            hcm["codec_type"] = options.Codec;
        }

        if (options.UseRemoteAddress)
        {
            hcm["use_remote_address"] = true;
        }

        if (options.WebSockets)
        {
            hcm["upgrade_configs"] = new JsonArray(new JsonObject { ["upgrade_type"] = "websocket" });
        }

        foreach (var (field, value) in options.ExtraFields)
        {
            hcm[field] = value?.DeepClone();
        }

        var virtualHost = new JsonObject
        {
            ["name"] = "all",
            ["domains"] = new JsonArray("*"),
            ["routes"] = options.Routes.DeepClone(),
        };
        foreach (var (field, value) in options.VirtualHostFields)
        {
            virtualHost[field] = value?.DeepClone();
        }

        hcm["route_config"] = new JsonObject
        {
            ["name"] = name + "_routes",
            ["virtual_hosts"] = new JsonArray(virtualHost),
        };
        var filters = (JsonArray)options.HttpFilters.DeepClone();
        filters.Add(new JsonObject
        {
            ["name"] = "envoy.filters.http.router",
            ["typed_config"] = new JsonObject { ["@type"] = RouterType },
        });
        hcm["http_filters"] = filters;
        _listeners.Add(Listener(name, port, "envoy.filters.network.http_connection_manager", hcm));
        return this;
    }

    /// <summary>A listener with one tcp_proxy filter to <paramref name="cluster"/>.</summary>
    public BootstrapBuilder TcpListener(string name, string cluster, string statPrefix = "tcp")
    {
        var port = AddPort(name);
        var tcp = new JsonObject
        {
            ["@type"] = TcpProxyType,
            ["stat_prefix"] = statPrefix,
            ["cluster"] = cluster,
        };
        _listeners.Add(Listener(name, port, "envoy.filters.network.tcp_proxy", tcp));
        return this;
    }

    /// <summary>A STATIC cluster of 127.0.0.1 endpoints.</summary>
    public BootstrapBuilder Cluster(string name, IEnumerable<int> ports, string lbPolicy = "ROUND_ROBIN", bool http2 = false, string connectTimeout = "2s") =>
        Cluster(name, ports.Select(p => new IPEndPoint(IPAddress.Loopback, p)), lbPolicy, http2, connectTimeout);

    public BootstrapBuilder Cluster(string name, int port, string lbPolicy = "ROUND_ROBIN", bool http2 = false, string connectTimeout = "2s") =>
        Cluster(name, [port], lbPolicy, http2, connectTimeout);

    public BootstrapBuilder Cluster(string name, IEnumerable<IPEndPoint> endpoints, string lbPolicy, bool http2, string connectTimeout)
    {
        var lbEndpoints = new JsonArray();
        foreach (var endpoint in endpoints)
        {
            lbEndpoints.Add(new JsonObject
            {
                ["endpoint"] = new JsonObject { ["address"] = SocketAddress(endpoint.Address.ToString(), endpoint.Port) },
            });
        }

        var cluster = new JsonObject
        {
            ["name"] = name,
            ["type"] = "STATIC",
            ["connect_timeout"] = connectTimeout,
            ["lb_policy"] = lbPolicy,
            ["load_assignment"] = new JsonObject
            {
                ["cluster_name"] = name,
                ["endpoints"] = new JsonArray(new JsonObject { ["lb_endpoints"] = lbEndpoints }),
            },
        };
        if (http2)
        {
            cluster["typed_extension_protocol_options"] = new JsonObject
            {
                ["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"] = new JsonObject
                {
                    ["@type"] = HttpProtocolOptionsType,
                    ["explicit_http_config"] = new JsonObject { ["http2_protocol_options"] = new JsonObject() },
                },
            };
        }

        _clusters.Add(cluster);
        return this;
    }

    /// <summary>Sets one more field on every cluster added so far (circuit_breakers, for example).</summary>
    public BootstrapBuilder WithClusterField(string field, JsonNode value)
    {
        foreach (var cluster in _clusters)
        {
            cluster![field] = value.DeepClone();
        }

        return this;
    }

    /// <summary>Sets a field on a cluster added before, for fields the builder has no parameter for.</summary>
    public BootstrapBuilder ClusterField(string cluster, string field, JsonNode value)
    {
        foreach (var node in _clusters)
        {
            if (node is JsonObject candidate && (string?)candidate["name"] == cluster)
            {
                candidate[field] = value;
                return this;
            }
        }

        throw new ArgumentException($"no cluster '{cluster}'", nameof(cluster));
    }

    /// <summary>Edits a listener added before (its Envoy JSON), for fields the builder has no parameter for.</summary>
    public BootstrapBuilder EditListener(string listener, Action<JsonObject> edit)
    {
        foreach (var node in _listeners)
        {
            if (node is JsonObject candidate && (string?)candidate["name"] == listener)
            {
                edit(candidate);
                return this;
            }
        }

        throw new ArgumentException($"no listener '{listener}'", nameof(listener));
    }

    public string ToYaml() => YamlWriter.Write(Root);

    public override string ToString() => ToYaml();

    private int AddPort(string listener)
    {
        if (_ports.ContainsKey(listener))
        {
            throw new ArgumentException($"listener '{listener}' added twice", nameof(listener));
        }

        var port = FreePort.Next();
        _ports[listener] = port;
        return port;
    }

    private static JsonObject Listener(string name, int port, string filterName, JsonObject typedConfig) => new()
    {
        ["name"] = name,
        ["address"] = SocketAddress("127.0.0.1", port),
        ["filter_chains"] = new JsonArray(new JsonObject
        {
            ["filters"] = new JsonArray(new JsonObject
            {
                ["name"] = filterName,
                ["typed_config"] = typedConfig,
            }),
        }),
    };

    private static JsonObject SocketAddress(string address, int port) => new()
    {
        ["socket_address"] = new JsonObject { ["address"] = address, ["port_value"] = port },
    };
}
