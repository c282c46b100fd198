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

        dump.Configs.Add(Any.Pack(clusters));

        var listeners = new ListenersConfigDump();
        foreach (var listener in view.StaticListeners)
        {
            listeners.StaticListeners.Add(new ListenersConfigDump.Types.StaticListener { Listener = Any.Pack(listener), LastUpdated = lastUpdated });
        }

        dump.Configs.Add(Any.Pack(listeners));

        var routes = new RoutesConfigDump();
        foreach (var route in view.StaticRouteConfigs)
        {
            routes.StaticRouteConfigs.Add(new RoutesConfigDump.Types.StaticRouteConfig { RouteConfig = Any.Pack(route), LastUpdated = lastUpdated });
        }

        dump.Configs.Add(Any.Pack(routes));
        return dump;
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
