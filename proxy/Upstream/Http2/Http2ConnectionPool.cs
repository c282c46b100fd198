using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// HTTP/2 (h2c) connections to one upstream endpoint. A request takes a stream on the first
/// connection with a free one; when all are full, one new connection is made and the
/// requests that queue for it share it up to its stream limit. Connections idle for a minute
/// are closed, as SocketsHttpHandler did.
/// </summary>
internal sealed class Http2ConnectionPool : IAsyncDisposable
{
    /// <summary>How long a connection without streams is kept.</summary>
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(1);

    // Streams assumed per connection before its SETTINGS arrive (what Kestrel, nginx and Envoy allow).
    private const int AssumedStreamsPerConnection = 100;

    private const int MaxPooledStreams = 512;

    private const int MaxConnectsPerRequest = 4;

    private readonly Lock _lock = new();
    private readonly Stack<Http2ClientStream> _freeStreams = new();
    private readonly ClusterStats _stats;
    private Http2ClientConnection[] _connections = [];
    private TaskCompletionSource<Http2ClientConnection>? _connecting;
    private int _connectingWaiters;
    private int _streamsPerConnection = AssumedStreamsPerConnection;
    private ITimer? _idleTimer;
    private bool _disposed;

    public Http2ConnectionPool(IPEndPoint address, TimeSpan connectTimeout, ClusterStats stats, IPEndPoint? sourceAddress = null, TimeProvider? time = null)
    {
        Address = address;
        ConnectTimeout = connectTimeout;
        SourceAddress = sourceAddress;
        Time = time ?? TimeProvider.System;
        _stats = stats;
    }

    /// <summary>The clock of the idle close (connections stamp the moment they go idle with it).</summary>
    public TimeProvider Time { get; }

    public IPEndPoint Address { get; }

    public TimeSpan ConnectTimeout { get; }

    public IPEndPoint? SourceAddress { get; }

    /// <summary>Open connections (for tests and stats).</summary>
    public int ConnectionCount => Volatile.Read(ref _connections).Length;

    /// <summary>Sends on a pooled connection; a request without a body that the upstream's GOAWAY left unprocessed is sent again on another.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = await AcquireAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await connection.SendAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (UnprocessedRequestException e) when (attempt < 2 && (request.Content is null || !e.BodyStarted))
            {
                // The upstream never saw it (GOAWAY, REFUSED_STREAM, a connection that just closed): another connection takes it.
            }
        }
    }

    public Http2ClientStream RentStream()
    {
        lock (_freeStreams)
        {
            if (_freeStreams.TryPop(out var stream))
            {
                return stream;
            }
        }

        return new Http2ClientStream();
    }

    public void ReturnStream(Http2ClientStream stream)
    {
        lock (_freeStreams)
        {
            if (_freeStreams.Count < MaxPooledStreams)
            {
                _freeStreams.Push(stream);
            }
        }
    }

    /// <summary>A connection learned the upstream's SETTINGS_MAX_CONCURRENT_STREAMS: that many requests share the next new connection.</summary>
    internal void OnPeerStreamLimit(int maxConcurrentStreams)
    {
        lock (_lock)
        {
            _streamsPerConnection = Math.Clamp(maxConcurrentStreams, 1, AssumedStreamsPerConnection);
        }
    }

    internal void OnClosed(Http2ClientConnection connection)
    {
        lock (_lock)
        {
            var index = Array.IndexOf(_connections, connection);
            if (index >= 0)
            {
                _connections = [.. _connections[..index], .. _connections[(index + 1)..]];
                if (_connections.Length == 0)
                {
                    _idleTimer?.Dispose();
                    _idleTimer = null;
                }
            }
        }

        _stats.UpstreamCxActive.Decrement();
        _stats.UpstreamCxDestroy.Increment();
    }

    public ValueTask DisposeAsync()
    {
        Http2ClientConnection[] connections;
        lock (_lock)
        {
            _disposed = true;
            connections = _connections;
            _idleTimer?.Dispose();
            _idleTimer = null;
        }

        foreach (var connection in connections)
        {
            connection.Drain();
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask<Http2ClientConnection> AcquireAsync(CancellationToken cancellationToken)
    {
        // Bounded: an upstream that allows no stream (SETTINGS_MAX_CONCURRENT_STREAMS 0) or closes
        // every connection at once must not have us connect forever.
        for (var connects = 0; ; connects++)
        {
            if (connects == MaxConnectsPerRequest)
            {
                throw new HttpRequestException(HttpRequestError.ConnectionError, "the upstream took no stream on " + MaxConnectsPerRequest + " new connections");
            }

            TaskCompletionSource<Http2ClientConnection> connecting;
            var start = false;
            lock (_lock)
            {
                if (_disposed)
                {
                    // The endpoint left its cluster after this request picked it: fail as a connect
                    // failure would (503, or another endpoint under a retry policy).
                    throw new HttpRequestException(HttpRequestError.ConnectionError, "the endpoint left its cluster");
                }
                foreach (var connection in _connections)
                {
                    if (connection.TryReserveStream())
                    {
                        return connection;
                    }
                }

                if (_connecting is null || _connectingWaiters >= _streamsPerConnection)
                {
                    _connecting = new TaskCompletionSource<Http2ClientConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _connectingWaiters = 0;
                    start = true;
                }

                _connectingWaiters++;
                connecting = _connecting;
            }

            if (start)
            {
                _ = ConnectAsync(connecting);
            }

            var fresh = await connecting.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (fresh.TryReserveStream())
            {
                return fresh;
            }
        }
    }

    // Shared by the requests that queued for it: no single request's cancellation stops it, the connect timeout does.
    private async Task ConnectAsync(TaskCompletionSource<Http2ClientConnection> completion)
    {
        try
        {
            var connection = await ConnectCoreAsync().ConfigureAwait(false);
            lock (_lock)
            {
                if (ReferenceEquals(_connecting, completion))
                {
                    _connecting = null;
                }

                if (!_disposed)
                {
                    _connections = [.. _connections, connection];
                    _idleTimer ??= Time.CreateTimer(static state => ((Http2ConnectionPool)state!).CloseIdle(), this, IdleTimeout / 4, IdleTimeout / 4);
                }
            }

            if (Volatile.Read(ref _disposed))
            {
                connection.Drain();
                completion.SetException(new HttpRequestException(HttpRequestError.ConnectionError, "the endpoint left its cluster"));
                return;
            }

            completion.SetResult(connection);
        }
        catch (Exception e)
        {
            lock (_lock)
            {
                if (ReferenceEquals(_connecting, completion))
                {
                    _connecting = null;
                }
            }

            completion.SetException(e);
        }
    }

    private async Task<Http2ClientConnection> ConnectCoreAsync()
    {
        Socket socket;
        try
        {
            socket = UpstreamSocketFactory.CreateSocket(Address, SourceAddress);
        }
        catch (SocketException e)
        {
            throw new HttpRequestException(HttpRequestError.ConnectionError, "connection failure", e);
        }

        using var timeout = new CancellationTokenSource(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(Address, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            socket.Dispose();
            if (timeout.IsCancellationRequested)
            {
                _stats.UpstreamCxConnectTimeout.Increment();
                throw new HttpRequestException(HttpRequestError.ConnectionError, "connection timeout", e);
            }

            throw new HttpRequestException(HttpRequestError.ConnectionError, "connection failure", e);
        }

        _stats.UpstreamCxTotal.Increment();
        _stats.UpstreamCxActive.Increment();
        var connection = new Http2ClientConnection(this, socket);
        connection.Start();

        // Streams are taken once the upstream's limit is known, not refused by the dozen at first.
        try
        {
            await connection.FirstSettings.WaitAsync(ConnectTimeout).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            connection.Close(new HttpRequestException(HttpRequestError.ConnectionError, "the upstream did not answer the HTTP/2 preface", e));
            throw new HttpRequestException(HttpRequestError.ConnectionError, "the upstream did not answer the HTTP/2 preface", e);
        }

        return connection;
    }

    private void CloseIdle()
    {
        foreach (var connection in Volatile.Read(ref _connections))
        {
            if (connection.ActiveStreams == 0 && Time.GetElapsedTime(connection.IdleSince) >= IdleTimeout)
            {
                connection.Drain();
            }
        }
    }
}
