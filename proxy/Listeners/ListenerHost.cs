using System.Net;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Http1;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Tcp;
using Herald.Proxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Herald.Proxy.Listeners;

/// <summary>
/// One listener on Kestrel's socket transport. Kestrel accepts; Herald's connection
/// middleware sniffs, picks the filter chain and serves HTTP/1.1 and TCP itself, handing
/// only HTTP/2 to Kestrel's HTTP/2 stack.
/// </summary>
internal sealed class ListenerHost : IAsyncDisposable
{
    private static readonly IServiceProvider Services = new ServiceCollection().AddLogging().BuildServiceProvider();

    private readonly KestrelServer _server;
    private readonly Dictionary<FilterChainConfig, object> _handlers = [];
    private readonly TimeProvider _time;
    private readonly HeraldHttpApplication _application = new();

    private ListenerHost(ListenerConfig config, KestrelServer server, TimeProvider time)
    {
        Config = config;
        _server = server;
        _time = time;
    }

    public ListenerConfig Config { get; }

    public IPEndPoint BoundAddress { get; private set; } = new(IPAddress.None, 0);

    public static async Task<ListenerHost> StartAsync(ListenerConfig config, StatsStore stats, ClusterManager clusters, UpstreamHttpClients httpClients, TimeProvider time, CancellationToken cancellationToken)
    {
        var firstHttp = config.FilterChains.Select(c => c.Http).FirstOrDefault(h => h is not null) ?? config.DefaultFilterChain?.Http;
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            AllowSynchronousIO = false,
            ApplicationServices = Services,
        };
        var limits = options.Limits;
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MinResponseDataRate = null;
        limits.MaxResponseBufferSize = 64 * 1024;
        limits.MaxRequestBufferSize = 1024 * 1024;
        if (firstHttp is not null)
        {
            limits.KeepAliveTimeout = firstHttp.IdleTimeout > TimeSpan.Zero ? firstHttp.IdleTimeout : TimeSpan.FromDays(1);
            limits.MaxRequestHeadersTotalSize = firstHttp.MaxRequestHeadersBytes;
            limits.MaxRequestHeaderCount = firstHttp.MaxHeadersCount;
            limits.Http2.MaxStreamsPerConnection = firstHttp.Http2MaxConcurrentStreams;
            limits.Http2.InitialStreamWindowSize = firstHttp.Http2InitialStreamWindowSize;
            limits.Http2.InitialConnectionWindowSize = Math.Max(firstHttp.Http2InitialConnectionWindowSize, firstHttp.Http2InitialStreamWindowSize);
            limits.Http2.MaxRequestHeaderFieldSize = Math.Max(16 * 1024, firstHttp.MaxRequestHeadersBytes);
            limits.Http2.HeaderTableSize = 4096;
        }

        var transport = new SocketTransportFactory(
            Options.Create(new SocketTransportOptions
            {
                UnsafePreferInlineScheduling = TransportSettings.InlineScheduling,
                WaitForDataBeforeAllocatingBuffer = true,
                NoDelay = true,
                Backlog = 4096,
            }),
            NullLoggerFactory.Instance);
        var server = new KestrelServer(Options.Create(options), transport, NullLoggerFactory.Instance);
        var host = new ListenerHost(config, server, time);
        foreach (var chain in config.DefaultFilterChain is null ? config.FilterChains : [.. config.FilterChains, config.DefaultFilterChain])
        {
            if (chain.Http is { } http)
            {
                host._handlers[chain] = new HttpConnectionManager(http, new HttpConnectionManagerStats(stats, http.StatPrefix), clusters, httpClients, time);
            }
            else if (chain.Tcp is { } tcp)
            {
                host._handlers[chain] = new TcpProxyHandler(tcp, clusters.Get, stats, time);
            }
        }

        options.Listen(config.Address, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            listen.Use(next => context => host.OnConnectionAsync(context, next));
        });

        await server.StartAsync(host._application, cancellationToken).ConfigureAwait(false);
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        host.BoundAddress = address is null ? config.Address : new IPEndPoint(config.Address.Address, new Uri(address).Port);
        return host;
    }

    private async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        SniffResult? sniff = null;
        if (Config.NeedsSniffing)
        {
            sniff = await ProtocolSniffer.SniffAsync(context.Transport.Input, Config.SniffTimeout, _time, context.ConnectionClosed).ConfigureAwait(false);
        }

        var localPort = (context.LocalEndPoint as IPEndPoint)?.Port ?? Config.Address.Port;
        var chain = FilterChainSelector.Select(Config, localPort, sniff);
        if (chain is null || !_handlers.TryGetValue(chain, out var handler))
        {
            context.Abort();
            return;
        }

        if (handler is TcpProxyHandler tcp)
        {
            await tcp.HandleAsync(context.Transport, context.RemoteEndPoint, context.ConnectionClosed).ConfigureAwait(false);
            return;
        }

        var manager = (HttpConnectionManager)handler;
        var useHttp2 = manager.Config.Codec switch
        {
            CodecType.Http2 => true,
            CodecType.Http1 => false,
            _ => sniff?.Protocol == DetectedProtocol.Http2,
        };

        if (useHttp2)
        {
            manager.Stats.DownstreamCxTotal.Increment();
            manager.Stats.DownstreamCxHttp2Total.Increment();
            manager.Stats.DownstreamCxActive.Increment();
            try
            {
                _application.Register(context.ConnectionId, manager);
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                _application.Unregister(context.ConnectionId);
                manager.Stats.DownstreamCxActive.Decrement();
            }

            return;
        }

        using var connection = new Http1Connection(manager, context.Transport, context.RemoteEndPoint as IPEndPoint);
        await connection.RunAsync(context.ConnectionClosed).ConfigureAwait(false);
    }

    public async Task StopAsync(CancellationToken cancellationToken) =>
        await _server.StopAsync(cancellationToken).ConfigureAwait(false);

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await _server.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stop cut short; dispose anyway.
        }

        _server.Dispose();
    }
}
