using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Xds.Hosting;

/// <summary>
/// Kestrel without a host, dependency injection or logging: what every Herald server
/// (listeners, admin, gRPC, registry API, demo upstreams) runs on. Starts in milliseconds.
/// </summary>
public static class BareKestrel
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    /// <summary>Options with no Server header and the minimal services Kestrel needs.</summary>
    public static KestrelServerOptions CreateOptions() => new() { AddServerHeader = false, ApplicationServices = Services };

    public static KestrelServer Create(KestrelServerOptions options, SocketTransportOptions? transport = null) => new(
        Options.Create(options),
        new SocketTransportFactory(Options.Create(transport ?? new SocketTransportOptions()), NullLoggerFactory.Instance),
        NullLoggerFactory.Instance);
}
