using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;

namespace Herald.Proxy.Upstream;

/// <summary>
/// Idle HTTP/1.1 connections to one upstream endpoint, reused across requests. A
/// connection is only handed out when its read side shows nothing pending (a closed or
/// chatty idle connection is dropped), and only returned when its last exchange ended
/// cleanly.
/// </summary>
internal sealed class Http1ConnectionPool : IAsyncDisposable
{
    /// <summary>Idle connections kept per endpoint; more are closed when returned.</summary>
    public const int MaxIdle = 1024;

    // A plain stack under a lock: ConcurrentStack allocated a node on every return.
    private readonly Stack<Http1UpstreamConnection> _idle = new();
    private readonly Lock _idleLock = new();
    private int _idleCount;
    private bool _disposed;

    public Http1ConnectionPool(IPEndPoint address, TimeSpan connectTimeout, ClusterStats stats, IPEndPoint? sourceAddress = null)
    {
        Address = address;
        SourceAddress = sourceAddress;
        ConnectTimeout = connectTimeout;
        Stats = stats;
    }

    public IPEndPoint Address { get; }

    /// <summary>upstream_bind_config: the local address connections are made from, if any.</summary>
    public IPEndPoint? SourceAddress { get; }

    public TimeSpan ConnectTimeout { get; }

    public ClusterStats Stats { get; }

    /// <summary>The cluster's UpstreamTlsContext: connections are TLS after connecting; null for cleartext.</summary>
    public Tls.UpstreamTlsConfig? Tls { get; init; }

    public int IdleCount => Volatile.Read(ref _idleCount);

    /// <summary>An idle connection if one is usable, else null (the caller connects).</summary>
    public Http1UpstreamConnection? TryRentIdle()
    {
        while (TryPop(out var connection))
        {
            Interlocked.Decrement(ref _idleCount);
            if (connection.IsUsable())
            {
                connection.Reused = true;
                return connection;
            }

            connection.Abort();
        }

        return null;
    }

    public async ValueTask<Http1UpstreamConnection> ConnectAsync(TimeProvider time, CancellationToken cancellationToken)
    {
        Socket socket;
        try
        {
            socket = UpstreamSocketFactory.CreateSocket(Address, SourceAddress);
        }
        catch (SocketException e)
        {
            Stats.UpstreamCxConnectFail.Increment();
            throw new UpstreamConnectException("connection failure", e);
        }

        using var timeout = new CancellationTokenSource(ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        try
        {
            await socket.ConnectAsync(Address, linked.Token).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            socket.Dispose();
            Stats.UpstreamCxConnectFail.Increment();
            if (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
            {
                Stats.UpstreamCxConnectTimeout.Increment();
                throw new UpstreamConnectException("connection timeout", e);
            }

            cancellationToken.ThrowIfCancellationRequested();
            throw new UpstreamConnectException("connection failure", e);
        }

        if (Tls is not null)
        {
            return await ConnectTlsAsync(socket, Tls, linked.Token).ConfigureAwait(false);
        }

        Stats.UpstreamCxTotal.Increment();
        Stats.UpstreamCxActive.Increment();
        var context = UpstreamSocketFactory.Create(socket);
        return new Http1UpstreamConnection(this, context);
    }

    private async ValueTask<Http1UpstreamConnection> ConnectTlsAsync(Socket socket, Tls.UpstreamTlsConfig tls, CancellationToken cancellationToken)
    {
        var ssl = new System.Net.Security.SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await ssl.AuthenticateAsClientAsync(tls.CreateOptions(), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            Stats.UpstreamCxConnectFail.Increment();
            cancellationToken.ThrowIfCancellationRequested();
            throw new UpstreamConnectException(Herald.Proxy.Tls.UpstreamTlsException.ResetReasonOf(e) ?? "connection failure", e);
        }

        Stats.UpstreamCxTotal.Increment();
        Stats.UpstreamCxActive.Increment();
        return new Http1UpstreamConnection(this, new Herald.Proxy.Tls.TlsPipe(ssl));
    }

    public void Return(Http1UpstreamConnection connection)
    {
        if (Volatile.Read(ref _disposed) || Interlocked.Increment(ref _idleCount) > MaxIdle)
        {
            if (!Volatile.Read(ref _disposed))
            {
                Interlocked.Decrement(ref _idleCount);
            }

            connection.Abort();
            return;
        }

        lock (_idleLock)
        {
            _idle.Push(connection);
        }
    }

    private bool TryPop(out Http1UpstreamConnection connection)
    {
        lock (_idleLock)
        {
            return _idle.TryPop(out connection!);
        }
    }

    internal void OnClosed()
    {
        Stats.UpstreamCxActive.Decrement();
        Stats.UpstreamCxDestroy.Increment();
    }

    public ValueTask DisposeAsync()
    {
        Volatile.Write(ref _disposed, true);
        while (TryPop(out var connection))
        {
            connection.Abort();
        }

        return ValueTask.CompletedTask;
    }
}
