using Google.Protobuf.Reflection;
using Herald.Xds;
using Xunit;

namespace Herald.Tests.Xds;

public sealed class EnvoyTypeRegistryTests
{
    [Theory]
    [InlineData("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager")]
    [InlineData("envoy.extensions.filters.http.router.v3.Router")]
    [InlineData("envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext")]
    [InlineData("envoy.extensions.transport_sockets.tls.v3.Secret")]
    [InlineData("envoy.config.route.v3.RouteConfiguration")]
    [InlineData("envoy.config.core.v3.TypedExtensionConfig")]
    [InlineData("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.InternalAddressConfig")]
    public void ForTypeNames_TypeInConfigRegistry_FindsTheSameDescriptor(string name)
    {
        var registry = EnvoyTypeRegistry.ForTypeNames([name, "envoy.extensions.filters.http.router.v3.Router"]);

        var found = registry.Find(name);

        Assert.NotNull(found);
        Assert.Same(EnvoyTypeRegistry.ConfigRegistry.Find(name), found);
    }

    [Fact]
    public void ForTypeNames_TypeOutsideConfigRegistry_NotFoundAsInConfigRegistry()
    {
        const string Name = "envoy.extensions.filters.http.no_such_filter.v3.Config";

        var registry = EnvoyTypeRegistry.ForTypeNames([Name]);

        Assert.Null(registry.Find(Name));
        Assert.Null(EnvoyTypeRegistry.ConfigRegistry.Find(Name));
    }

    [Fact]
    public void BootstrapClosure_AnnotationOnlyProtos_NotCompiled()
    {
        // Their custom options made every file build extension registries at start-up.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<FileDescriptor>([Envoy.Config.Bootstrap.V3.Bootstrap.Descriptor.File]);
        while (pending.TryPop(out var file))
        {
            if (seen.Add(file.Name))
            {
                foreach (var dependency in file.Dependencies)
                {
                    pending.Push(dependency);
                }
            }
        }

        Assert.Contains("envoy/config/cluster/v3/cluster.proto", seen);
        Assert.DoesNotContain(seen, name => name.StartsWith("validate/", StringComparison.Ordinal)
            || name.StartsWith("udpa/annotations/", StringComparison.Ordinal)
            || name.StartsWith("xds/annotations/", StringComparison.Ordinal)
            || name.StartsWith("envoy/annotations/", StringComparison.Ordinal));
    }

    [Fact]
    public void ForTypeNames_NoNames_EmptyRegistry()
    {
        Assert.Same(TypeRegistry.Empty, EnvoyTypeRegistry.ForTypeNames([]));
    }
}
