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

    private static TypeRegistry BuildConfig() => TypeRegistry.FromFiles(
        Envoy.Config.Bootstrap.V3.Bootstrap.Descriptor.File,
        Envoy.Extensions.Filters.Network.HttpConnectionManager.V3.HttpConnectionManager.Descriptor.File,
        Envoy.Extensions.Filters.Network.TcpProxy.V3.TcpProxy.Descriptor.File,
        Envoy.Extensions.Filters.Http.Router.V3.Router.Descriptor.File,
        Envoy.Extensions.Filters.Http.LocalRatelimit.V3.LocalRateLimit.Descriptor.File,
        Envoy.Extensions.Filters.Http.Fault.V3.HTTPFault.Descriptor.File,
        Envoy.Extensions.AccessLoggers.File.V3.FileAccessLog.Descriptor.File,
        Envoy.Extensions.Upstreams.Http.V3.HttpProtocolOptions.Descriptor.File,
        Envoy.Extensions.Filters.Listener.TlsInspector.V3.TlsInspector.Descriptor.File,
        Envoy.Extensions.Filters.Listener.HttpInspector.V3.HttpInspector.Descriptor.File,
        Envoy.Extensions.Filters.Listener.OriginalDst.V3.OriginalDst.Descriptor.File,
        Envoy.Extensions.TransportSockets.Tls.V3.DownstreamTlsContext.Descriptor.File,
        Envoy.Extensions.TransportSockets.Tls.V3.Secret.Descriptor.File);

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
