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

    public static TypeRegistry Registry => LazyRegistry.Value;

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
