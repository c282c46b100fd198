using System.Reflection;
using Google.Protobuf.Reflection;
using Herald.Xds;

namespace Herald.Proxy.Admin;

/// <summary>
/// Every message type compiled into Herald.Xds, so the JSON formatter can render any
/// <c>Any</c> a config holds (typed_config of filters, access loggers, protocol options).
/// Built on first use: scanning the assembly costs tens of milliseconds that startup should not pay.
/// </summary>
internal static class XdsTypeRegistry
{
    private static readonly Lazy<TypeRegistry> Registry = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static TypeRegistry Instance => Registry.Value;

    private static TypeRegistry Build()
    {
        // protoc emits one static "...Reflection" class per .proto file, exposing its FileDescriptor.
        var files = new List<FileDescriptor>();
        foreach (var type in typeof(XdsAssembly).Assembly.GetTypes())
        {
            if (!type.IsAbstract || !type.IsSealed)
            {
                continue;
            }

            var property = type.GetProperty("Descriptor", BindingFlags.Public | BindingFlags.Static);
            if (property?.PropertyType == typeof(FileDescriptor) && property.GetValue(null) is FileDescriptor file)
            {
                files.Add(file);
            }
        }

        // FromFiles adds each file's dependencies too, so well-known types come along.
        return TypeRegistry.FromFiles(files);
    }
}
