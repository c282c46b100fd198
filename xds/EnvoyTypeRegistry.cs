using System.Reflection;
using Google.Protobuf.Reflection;

namespace Herald.Xds;

/// <summary>
/// Every message type compiled into this assembly (Envoy, xds, udpa, googleapis and the
/// well-known types), for JSON parsing and printing of <c>Any</c> fields such as
/// <c>typed_config</c>.
/// </summary>
public static class EnvoyTypeRegistry
{
    private static readonly Lazy<TypeRegistry> LazyRegistry = new(Build);
    private static readonly Lazy<TypeRegistry> LazyConfigRegistry = new(BuildConfig);

    /// <summary>Every message type Herald compiled (slow to build: for /config_dump).</summary>
    public static TypeRegistry Registry => LazyRegistry.Value;

    /// <summary>
    /// The types a configuration may name in <c>typed_config</c> and the bootstrap's own
    /// closure: cheap to build at startup, and an <c>@type</c> outside it is unsupported anyway.
    /// </summary>
    public static TypeRegistry ConfigRegistry => LazyConfigRegistry.Value;

    /// <summary>
    /// The files <see cref="ConfigRegistry"/> is built from, by proto package. Building a
    /// file's descriptor costs reflection over every message in its closure (tens of ms for
    /// the larger ones), so <see cref="ForTypeNames"/> builds only the packages a document names.
    /// </summary>
    private static readonly (string Package, Func<FileDescriptor> File)[] ConfigFiles =
    [
        ("envoy.config.bootstrap.v3", () => Envoy.Config.Bootstrap.V3.Bootstrap.Descriptor.File),
        ("envoy.extensions.filters.network.http_connection_manager.v3", () => Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager.Descriptor.File),
        ("envoy.extensions.filters.network.tcp_proxy.v3", () => Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy.Descriptor.File),
        ("envoy.extensions.filters.http.router.v3", () => Envoy.Extensions.Filters.Http.Router.V3.Router.Descriptor.File),
        ("envoy.extensions.filters.http.local_ratelimit.v3", () => Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit.Descriptor.File),
        ("envoy.extensions.filters.http.fault.v3", () => Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault.Descriptor.File),
        ("envoy.extensions.access_loggers.file.v3", () => Envoy.Extensions.AccessLoggers.File.V3.FileAccessLog.Descriptor.File),
        ("envoy.extensions.upstreams.http.v3", () => Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Descriptor.File),
        ("envoy.extensions.filters.listener.tls_inspector.v3", () => Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspector.Descriptor.File),
        ("envoy.extensions.filters.listener.http_inspector.v3", () => Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector.Descriptor.File),
        ("envoy.extensions.filters.listener.original_dst.v3", () => Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst.Descriptor.File),
        ("envoy.extensions.transport_sockets.tls.v3", () => Envoy.Extensions.TransportSockets.Tls.V3.DownstreamTlsContext.Descriptor.File),
        ("envoy.extensions.transport_sockets.tls.v3", () => Envoy.Extensions.TransportSockets.Tls.V3.Secret.Descriptor.File),
    ];

    /// <summary>
    /// A registry that finds every type in <paramref name="typeNames"/> exactly as
    /// <see cref="ConfigRegistry"/> would, built from the files of those types' packages
    /// when that is enough (the usual case: a bootstrap naming only filters), otherwise
    /// <see cref="ConfigRegistry"/> itself.
    /// </summary>
    public static TypeRegistry ForTypeNames(IReadOnlyCollection<string> typeNames)
    {
        if (typeNames.Count == 0)
        {
            return TypeRegistry.Empty;
        }

        if (LazyConfigRegistry.IsValueCreated)
        {
            return ConfigRegistry;
        }

        var files = new List<FileDescriptor>();
        foreach (var name in typeNames)
        {
            var package = name.LastIndexOf('.') is var dot and > 0 ? name[..dot] : string.Empty;
            foreach (var (configPackage, file) in ConfigFiles)
            {
                if (configPackage == package)
                {
                    files.Add(file());
                }
            }
        }

        var registry = TypeRegistry.FromFiles(files);
        foreach (var name in typeNames)
        {
            if (registry.Find(name) is null)
            {
                return ConfigRegistry;
            }
        }

        return registry;
    }

    private static TypeRegistry BuildConfig() => TypeRegistry.FromFiles(ConfigFiles.Select(entry => entry.File()));

    private static TypeRegistry Build()
    {
        var files = new List<FileDescriptor>();
        foreach (var type in typeof(EnvoyTypeRegistry).Assembly.GetTypes())
        {
            if (!type.Name.EndsWith("Reflection", StringComparison.Ordinal))
            {
                continue;
            }

            var property = type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static);
            if (property?.PropertyType == typeof(FileDescriptor) && property.GetValue(null) is FileDescriptor file)
            {
                files.Add(file);
            }
        }

        files.Add(Google.Protobuf.WellKnownTypes.Any.Descriptor.File);
        files.Add(Google.Protobuf.WellKnownTypes.Struct.Descriptor.File);
        files.Add(Google.Protobuf.WellKnownTypes.Duration.Descriptor.File);
        files.Add(Google.Protobuf.WellKnownTypes.Timestamp.Descriptor.File);
        files.Add(Google.Protobuf.WellKnownTypes.UInt32Value.Descriptor.File);
        files.Add(Google.Protobuf.WellKnownTypes.Empty.Descriptor.File);
        return TypeRegistry.FromFiles(files);
    }
}
