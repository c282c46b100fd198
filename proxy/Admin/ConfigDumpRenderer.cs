using System.Text.Encodings.Web;
using System.Text.Json;
using Envoy.Admin.V3;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Herald.Proxy.Admin;

/// <summary>Renders <c>/config_dump</c>: an Envoy <c>ConfigDump</c> in proto JSON with snake_case names.</summary>
internal static class ConfigDumpRenderer
{
    private static readonly Lazy<JsonFormatter> Formatter = new(() => new JsonFormatter(
        JsonFormatter.Settings.Default
            .WithTypeRegistry(Herald.Xds.EnvoyTypeRegistry.Registry)
            .WithPreserveProtoFieldNames(true)));

    // Google.Protobuf's own indentation puts an Any's "@type" on its brace's line; re-indent
    // with System.Text.Json, one space per level as Envoy prints it, characters left as they are.
    private static readonly JsonWriterOptions Indented = new()
    {
        Indented = true,
        IndentSize = 1,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public static ConfigDump Build(ConfigDumpView view)
    {
        var lastUpdated = Timestamp.FromDateTimeOffset(view.LastUpdated);
        var dump = new ConfigDump();

        // Envoy's order: bootstrap, clusters, listeners, routes.
        dump.Configs.Add(Any.Pack(new BootstrapConfigDump { Bootstrap = view.Bootstrap, LastUpdated = lastUpdated }));

        var clusters = new ClustersConfigDump();
        foreach (var cluster in view.StaticClusters)
        {
            clusters.StaticClusters.Add(new ClustersConfigDump.Types.StaticCluster { Cluster = Any.Pack(cluster), LastUpdated = lastUpdated });
        }

        var dynamic = view.Dynamic;
        if (dynamic is not null)
        {
            var version = Version(dynamic, Herald.Xds.XdsTypeUrls.Cluster);
            foreach (var (_, cluster) in dynamic.Resources.Clusters.OrderBy(c => c.Key, StringComparer.Ordinal))
            {
                clusters.DynamicActiveClusters.Add(new ClustersConfigDump.Types.DynamicCluster { VersionInfo = version, Cluster = Any.Pack(cluster), LastUpdated = lastUpdated });
            }

            if (Nack(dynamic, Herald.Xds.XdsTypeUrls.Cluster) is { } failure)
            {
                clusters.DynamicActiveClusters.Add(new ClustersConfigDump.Types.DynamicCluster { ErrorState = failure });
            }

            clusters.VersionInfo = version;
        }

        dump.Configs.Add(Any.Pack(clusters));

        var listeners = new ListenersConfigDump();
        foreach (var listener in view.StaticListeners)
        {
            listeners.StaticListeners.Add(new ListenersConfigDump.Types.StaticListener { Listener = Any.Pack(listener), LastUpdated = lastUpdated });
        }

        if (dynamic is not null)
        {
            var version = Version(dynamic, Herald.Xds.XdsTypeUrls.Listener);
            foreach (var (name, listener) in dynamic.Resources.Listeners.OrderBy(l => l.Key, StringComparer.Ordinal))
            {
                listeners.DynamicListeners.Add(new ListenersConfigDump.Types.DynamicListener
                {
                    Name = name,
                    ActiveState = new ListenersConfigDump.Types.DynamicListenerState { VersionInfo = version, Listener = Any.Pack(listener), LastUpdated = lastUpdated },
                });
            }

            if (Nack(dynamic, Herald.Xds.XdsTypeUrls.Listener) is { } failure)
            {
                listeners.DynamicListeners.Add(new ListenersConfigDump.Types.DynamicListener { Name = "(rejected update)", ErrorState = failure });
            }

            listeners.VersionInfo = version;
        }

        dump.Configs.Add(Any.Pack(listeners));

        var routes = new RoutesConfigDump();
        foreach (var route in view.StaticRouteConfigs)
        {
            routes.StaticRouteConfigs.Add(new RoutesConfigDump.Types.StaticRouteConfig { RouteConfig = Any.Pack(route), LastUpdated = lastUpdated });
        }

        if (dynamic is not null)
        {
            var version = Version(dynamic, Herald.Xds.XdsTypeUrls.RouteConfiguration);
            foreach (var (_, route) in dynamic.Resources.Routes.OrderBy(r => r.Key, StringComparer.Ordinal))
            {
                routes.DynamicRouteConfigs.Add(new RoutesConfigDump.Types.DynamicRouteConfig { VersionInfo = version, RouteConfig = Any.Pack(route), LastUpdated = lastUpdated });
            }

            if (Nack(dynamic, Herald.Xds.XdsTypeUrls.RouteConfiguration) is { } failure)
            {
                routes.DynamicRouteConfigs.Add(new RoutesConfigDump.Types.DynamicRouteConfig { ErrorState = failure });
            }
        }

        dump.Configs.Add(Any.Pack(routes));

        if (dynamic is not null)
        {
            var endpoints = new EndpointsConfigDump();
            var version = Version(dynamic, Herald.Xds.XdsTypeUrls.ClusterLoadAssignment);
            foreach (var (_, assignment) in dynamic.Resources.Endpoints.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                endpoints.DynamicEndpointConfigs.Add(new EndpointsConfigDump.Types.DynamicEndpointConfig { VersionInfo = version, EndpointConfig = Any.Pack(assignment), LastUpdated = lastUpdated });
            }

            if (Nack(dynamic, Herald.Xds.XdsTypeUrls.ClusterLoadAssignment) is { } failure)
            {
                endpoints.DynamicEndpointConfigs.Add(new EndpointsConfigDump.Types.DynamicEndpointConfig { ErrorState = failure });
            }

            dump.Configs.Add(Any.Pack(endpoints));
        }

        return dump;
    }

    private static string Version(XdsDumpView dynamic, string typeUrl) =>
        dynamic.Status.Find(typeUrl)?.AcceptedVersion ?? string.Empty;

    /// <summary>The last NACK of a type, as Envoy's UpdateFailureState (version and reason).</summary>
    private static UpdateFailureState? Nack(XdsDumpView dynamic, string typeUrl)
    {
        var nack = dynamic.Status.Find(typeUrl)?.LastNack;
        return nack is null
            ? null
            : new UpdateFailureState { VersionInfo = nack.RejectedVersion, Details = nack.Message, LastUpdateAttempt = Timestamp.FromDateTimeOffset(nack.Time) };
    }

    public static byte[] Render(ConfigDumpView view)
    {
        var compact = Formatter.Value.Format(Build(view));
        using var document = JsonDocument.Parse(compact, new JsonDocumentOptions { MaxDepth = 256 });
        using var stream = new MemoryStream(compact.Length * 2);
        using (var writer = new Utf8JsonWriter(stream, Indented))
        {
            document.WriteTo(writer);
        }

        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
