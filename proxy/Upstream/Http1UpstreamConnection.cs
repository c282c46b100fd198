using System.IO.Pipelines;
using Herald.Proxy.Http.Http1;
using Microsoft.AspNetCore.Connections;

namespace Herald.Proxy.Upstream;

/// <summary>One HTTP/1.1 connection to an upstream endpoint, owned by one request at a time.</summary>
internal sealed class Http1UpstreamConnection
{
    private readonly Http1ConnectionPool _pool;
    private readonly ConnectionContext? _context;
    private readonly Tls.TlsPipe? _tls;
    private int _closed;

    public Http1UpstreamConnection(Http1ConnectionPool pool, ConnectionContext context)
    {
        _pool = pool;
        _context = context;
        var transport = Transport.DirectSendTransport.For(context);
        Input = transport.Input;
        Output = transport.Output;
    }

    /// <summary>A connection to a TLS upstream: requests and responses go through <paramref name="tls"/>.</summary>
    public Http1UpstreamConnection(Http1ConnectionPool pool, Tls.TlsPipe tls)
    {
        _pool = pool;
        _tls = tls;
        Input = tls.Input;
        Output = tls.Output;
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    public Http1ConnectionPool Pool => _pool;

    /// <summary>True when it came from the idle pool (a failure before any response byte may be retried).</summary>
    public bool Reused { get; set; }

    /// <summary>The response head parser, reused across exchanges on this connection.</summary>
    public Http1ResponseHead? ResponseHead { get; set; }

    /// <summary>Nothing is pending on the read side: not closed, no stray bytes.</summary>
    public bool IsUsable()
    {
        if (Volatile.Read(ref _closed) != 0)
        {
            return false;
        }

        if (Input.TryRead(out var result))
        {
            var usable = !result.IsCompleted && !result.IsCanceled && result.Buffer.IsEmpty;
            Input.AdvanceTo(result.Buffer.Start);
            return usable;
        }

        return true;
    }

    public void Release() => _pool.Return(this);

    /// <summary>Closes the connection without reuse.</summary>
    public void Abort()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }

        _pool.OnClosed();
        _ = CloseAsync();
    }

    private async Task CloseAsync()
    {
        try
        {
            if (_tls is not null)
            {
                await _tls.CloseAsync().ConfigureAwait(false);
                return;
            }

            _context!.Abort();
            await _context.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closing is best effort.
        }
    }
}
