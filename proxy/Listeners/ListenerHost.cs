using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Herald.Proxy.Http;
using Herald.Proxy.Http.Http1;
using Herald.Proxy.Observability.Stats;
using Herald.Proxy.Tcp;
using Herald.Proxy.Transport;
using Herald.Proxy.Upstream;
using Herald.Xds.Hosting;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;

namespace Herald.Proxy.Listeners;

/// <summary>
/// One listener on Kestrel's socket transport. Kestrel accepts; Herald's connection
/// middleware sniffs, picks the filter chain and serves HTTP/1.1 and TCP itself, handing
/// only HTTP/2 to Kestrel's HTTP/2 stack.
/// </summary>
internal sealed partial class ListenerHost : IAsyncDisposable
{
    private readonly KestrelServer _server;
    private readonly TimeProvider _time;
    private readonly StatsStore _stats;
    private readonly ClusterManager _clusters;
    private readonly UpstreamHttpClients _httpClients;
    private State _state;
    private readonly HeraldHttpApplication _application = new();

    private ListenerHost(ListenerConfig config, KestrelServer server, StatsStore stats, ClusterManager clusters, UpstreamHttpClients httpClients, TimeProvider time)
    {
        _server = server;
        _time = time;
        _stats = stats;
        _clusters = clusters;
        _httpClients = httpClients;
        _state = BuildState(config, null);
        _listenerStats = new ListenerStats(stats, config.Address, config.Source.StatPrefix);
        _serverConnections = stats.Gauge(StatKey.Global("server.total_connections"));
        _listenersDraining = stats.Gauge(StatKey.Global("listener_manager.total_listeners_draining"));
    }

    // Every listener's open connections, Envoy's server.total_connections.
    private readonly Gauge _serverConnections;
    private readonly Gauge _listenersDraining;
    private Task? _drain;

    // Fired by the drain's deadline, or by disposal, which cuts a drain short.
    private readonly CancellationTokenSource _drainCut = new();

    /// <summary>The listener's config and a handler per filter chain, swapped whole on update.</summary>
    private sealed record State(ListenerConfig Config, Dictionary<FilterChainConfig, object> Handlers);

    public ListenerConfig Config => Volatile.Read(ref _state).Config;

    /// <summary>
    /// New connections use <paramref name="config"/>. HTTP connection managers with the same
    /// stat prefix are updated in place, so open connections follow route changes too.
    /// </summary>
    public void Update(ListenerConfig config) => Volatile.Write(ref _state, BuildState(config, Volatile.Read(ref _state)));

    private State BuildState(ListenerConfig config, State? previous)
    {
        var existing = new Dictionary<string, HttpConnectionManager>(StringComparer.Ordinal);
        if (previous is not null)
        {
            foreach (var handler in previous.Handlers.Values)
            {
                if (handler is HttpConnectionManager manager)
                {
                    existing.TryAdd(manager.Config.StatPrefix, manager);
                }
            }
        }

        var handlers = new Dictionary<FilterChainConfig, object>();
        foreach (var chain in config.DefaultFilterChain is null ? config.FilterChains : [.. config.FilterChains, config.DefaultFilterChain])
        {
            if (chain.Http is { } http)
            {
                if (existing.Remove(http.StatPrefix, out var manager))
                {
                    manager.Update(http);
                }
                else
                {
                    manager = new HttpConnectionManager(http, new HttpConnectionManagerStats(_stats, http.StatPrefix), _clusters, _httpClients, _time);
                }

                handlers[chain] = manager;
            }
            else if (chain.Tcp is { } tcp)
            {
                handlers[chain] = new TcpProxyHandler(tcp, _clusters.Get, _stats, _time);
            }
        }

        return new State(config, handlers);
    }

    public IPEndPoint BoundAddress { get; private set; } = new(IPAddress.None, 0);

    // Named by the configured address, as Envoy does.
    private readonly ListenerStats _listenerStats;

    public static async Task<ListenerHost> StartAsync(ListenerConfig config, StatsStore stats, ClusterManager clusters, UpstreamHttpClients httpClients, TimeProvider time, CancellationToken cancellationToken)
    {
        var firstHttp = config.FilterChains.Select(c => c.Http).FirstOrDefault(h => h is not null) ?? config.DefaultFilterChain?.Http;
        var options = BareKestrel.CreateOptions();
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

        var server = BareKestrel.Create(options, new SocketTransportOptions
        {
            UnsafePreferInlineScheduling = TransportSettings.InlineScheduling,
            WaitForDataBeforeAllocatingBuffer = true,
            NoDelay = true,
            Backlog = 4096,
            CreateBoundListenSocket = config.Transparent ? CreateTransparentSocket : SocketTransportOptions.CreateDefaultBoundListenSocket,
        });
        var host = new ListenerHost(config, server, stats, clusters, httpClients, time);

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

    // IP_TRANSPARENT (SOL_IP 19, IPV6_TRANSPARENT SOL_IPV6 75): accept connections TPROXY
    // steered here for addresses that are not local. Needs CAP_NET_ADMIN.
    private static Socket CreateTransparentSocket(EndPoint endpoint)
    {
        var ip = (IPEndPoint)endpoint;
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            var on = BitConverter.GetBytes(1);
            if (ip.AddressFamily == AddressFamily.InterNetworkV6)
            {
                socket.DualMode = ip.Address.Equals(IPAddress.IPv6Any);
                socket.SetRawSocketOption(41, 75, on);
            }

            if (ip.AddressFamily == AddressFamily.InterNetwork || socket.DualMode)
            {
                socket.SetRawSocketOption(0, 19, on);
            }

            socket.Bind(ip);
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new InvalidOperationException($"listener {ip} is transparent: setting IP_TRANSPARENT needs CAP_NET_ADMIN ({e.Message})", e);
        }
    }

    private async Task OnConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var stats = _listenerStats;
        stats.DownstreamCxTotal.Increment();
        stats.DownstreamCxActive.Increment();
        _serverConnections.Increment();
        try
        {
            await ServeConnectionAsync(context, next).ConfigureAwait(false);
        }
        finally
        {
            _serverConnections.Decrement();
            stats.DownstreamCxActive.Decrement();
            stats.DownstreamCxDestroy.Increment();
        }
    }

    private async Task ServeConnectionAsync(ConnectionContext context, ConnectionDelegate next)
    {
        var state = Volatile.Read(ref _state);
        var config = state.Config;
        var local = context.LocalEndPoint as IPEndPoint;
        IPEndPoint? original = null;
        if ((config.UseOriginalDestination || config.Transparent)
            && context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket is { } socket)
        {
            // Under TPROXY nothing was rewritten: the local address is where the client was going.
            // Without a redirect there is no original destination (connecting to it would loop).
            original = config.Transparent ? OriginalDestination.FromTproxy(socket) : OriginalDestination.TryGet(socket);
        }

        var destination = original ?? local;
        var destinationPort = destination?.Port ?? config.Address.Port;
        var destinationAddress = destination?.Address;
        var destinationMatches = FilterChainSelector.MatchDestination(config, destinationPort, destinationAddress);
        SniffResult? sniff = null;
        if (FilterChainSelector.NeedsSniffing(config, destinationMatches))
        {
            sniff = await ProtocolSniffer.SniffAsync(context.Transport.Input, config.SniffTimeout, _time, context.ConnectionClosed).ConfigureAwait(false);
        }

        var chain = FilterChainSelector.Select(config, destinationMatches, sniff);
        if (chain is null || !state.Handlers.TryGetValue(chain, out var handler))
        {
            _listenerStats.NoFilterChainMatch.Increment();
            context.Abort();
            return;
        }

        if (chain.Tls is { } tls)
        {
            await ServeTlsAsync(context, next, tls, handler, original, config).ConfigureAwait(false);
            return;
        }

        if (handler is TcpProxyHandler tcp)
        {
            // Not ConnectionClosed: Kestrel fires it at the client's FIN, and a half-closed client
            // still waits for the rest of the upstream's bytes. The relay ends when both directions do.
            await tcp.HandleAsync(context.Transport, context.RemoteEndPoint, original, CancellationToken.None).ConfigureAwait(false);
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
            await ServeHttp2Async(context, next, manager, original).ConfigureAwait(false);
            return;
        }

        using var connection = new Http1Connection(manager, Transport.DirectSendTransport.For(context), context.RemoteEndPoint as IPEndPoint) { OriginalDestination = original };
        await connection.RunAsync(context.ConnectionClosed, CloseRequested(context)).ConfigureAwait(false);
    }

    private static CancellationToken CloseRequested(ConnectionContext context) =>
        context.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;

    /// <summary>Hands the connection (its current transport) to Kestrel's HTTP/2, serving <paramref name="manager"/>.</summary>
    private async Task ServeHttp2Async(ConnectionContext context, ConnectionDelegate next, HttpConnectionManager manager, IPEndPoint? original)
    {
        manager.Stats.DownstreamCxTotal.Increment();
        manager.Stats.DownstreamCxHttp2Total.Increment();
        manager.Stats.DownstreamCxActive.Increment();
        try
        {
            _application.Register(context.ConnectionId, manager, original);

            // Kestrel answers a drain's close request with GOAWAY; count it as Envoy does.
            using var goAway = CloseRequested(context).UnsafeRegister(static counter => ((Counter)counter!).Increment(), manager.Stats.DownstreamCxDrainClose);

            // Kestrel sends each stream's flush on its own; gathered, concurrent responses share a send.
            var coalescing = CoalescingTransport.Enabled
                ? CoalescingTransport.Wrap(context.Transport, context.Features.Get<IMemoryPoolFeature>()?.MemoryPool ?? MemoryPool<byte>.Shared)
                : null;
            if (coalescing is not null)
            {
                context.Transport = coalescing;
            }

            try
            {
                await next(context).ConfigureAwait(false);
            }
            finally
            {
                if (coalescing is not null && !await coalescing.FinishAsync(_time).ConfigureAwait(false))
                {
                    context.Abort();
                }
            }
        }
        finally
        {
            _application.Unregister(context.ConnectionId);
            manager.Stats.DownstreamCxActive.Decrement();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) =>
        await _server.StopAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Drains the listener: its socket closes at once (new connections are refused), every
    /// open connection is asked to close (HTTP/1.1: <c>Connection: close</c> on the response in
    /// progress, idle connections closed; HTTP/2: GOAWAY) and in-flight requests finish. When
    /// <paramref name="deadline"/> fires, what is left is cut. Completes when no connection
    /// remains; a second call joins the first.
    /// </summary>
    public Task DrainAsync(CancellationToken deadline)
    {
        // Whichever caller's deadline comes first cuts the drain (a retired listener's own, or a SIGTERM's).
        _ = deadline.UnsafeRegister(static cut => ((CancellationTokenSource)cut!).Cancel(), _drainCut);
        lock (_server)
        {
            return _drain ??= RunDrainAsync();
        }
    }

    /// <summary>True once a drain has started: the listener accepts nothing more.</summary>
    public bool IsDraining => Volatile.Read(ref _drain) is not null;

    private async Task RunDrainAsync()
    {
        await Task.Yield();
        _listenersDraining.Increment();
        try
        {
            await _server.StopAsync(_drainCut.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Deadline reached: Kestrel has aborted the rest.
        }
        finally
        {
            _listenersDraining.Decrement();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _drainCut.CancelAsync().ConfigureAwait(false);
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
