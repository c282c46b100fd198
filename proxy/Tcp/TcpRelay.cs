using System.IO.Pipelines;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Tcp;

/// <summary>
/// Copies bytes both ways between a downstream pipe and a connected upstream socket.
/// End of stream on one side half-closes the other and leaves the opposite direction
/// open; a reset on one side aborts the other; no bytes either way for the idle timeout
/// closes both. Upstream bytes are received straight into the downstream pipe's memory,
/// so its flush back-pressure bounds what is in flight.
/// </summary>
internal sealed class TcpRelay : IDisposable
{
    private const int ReceiveSize = 16 * 1024;

    private const int Running = 0;
    private const int IdleTimedOut = 1;
    private const int UpstreamFailed = 2;
    private const int DownstreamFailed = 3;
    private const int Cancelled = 4;
    private const int Ended = 5;

    private readonly IDuplexPipe _downstream;
    private readonly Socket _upstream;
    private readonly TimeProvider _time;
    private readonly TimeSpan _idleTimeout;
    private readonly TcpProxyStats _stats;
    private readonly ClusterStats _clusterStats;

    private readonly CancellationTokenSource _stop = new();
    private ITimer? _idleTimer;
    private long _lastActivity;
    private int _state;

    public TcpRelay(IDuplexPipe downstream, Socket upstream, TimeProvider time, TimeSpan idleTimeout, TcpProxyStats stats, ClusterStats clusterStats)
    {
        _downstream = downstream;
        _upstream = upstream;
        _time = time;
        _idleTimeout = idleTimeout;
        _stats = stats;
        _clusterStats = clusterStats;
    }

    public long BytesFromDownstream { get; private set; }

    public long BytesToDownstream { get; private set; }

    /// <summary>Envoy response flags for the access log: UC upstream reset, DC downstream reset, SI idle timeout.</summary>
    public string ResponseFlags => Volatile.Read(ref _state) switch
    {
        UpstreamFailed => "UC",
        DownstreamFailed => "DC",
        IdleTimedOut => "SI",
        _ => "-",
    };

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.UnsafeRegister(static s => ((TcpRelay)s!).Stop(Cancelled), this);
        if (_idleTimeout > TimeSpan.Zero)
        {
            _lastActivity = _time.GetTimestamp();
            _idleTimer = _time.CreateTimer(static s => ((TcpRelay)s!).OnIdleTimer(), this, Clamp(_idleTimeout), Timeout.InfiniteTimeSpan);
        }

        // Both pumps start now: a server-first upstream is relayed before the client writes.
        var toUpstream = DownstreamToUpstreamAsync();
        var toDownstream = UpstreamToDownstreamAsync();
        await toUpstream;
        await toDownstream;

        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync();
        }

        await CloseAsync();

        // From here on a late timer or shutdown callback finds the relay over.
        Interlocked.CompareExchange(ref _state, Ended, Running);
    }

    public void Dispose() => _stop.Dispose();

    private async Task CloseAsync()
    {
        switch (Volatile.Read(ref _state))
        {
            case UpstreamFailed:
                // Abort the downstream connection: a completion with an error resets it.
                _upstream.Dispose();
                await _downstream.Output.CompleteAsync(new ConnectionAbortedException("The upstream connection was reset"));
                break;
            case DownstreamFailed:
                // Reset the upstream connection rather than closing it cleanly.
                ResetUpstream();
                await _downstream.Output.CompleteAsync();
                break;
            default:
                // Both directions ended, or idle timeout or shutdown: close both cleanly.
                _upstream.Dispose();
                await _downstream.Output.CompleteAsync();
                break;
        }

        await _downstream.Input.CompleteAsync();
    }

    private async Task DownstreamToUpstreamAsync()
    {
        var input = _downstream.Input;
        var token = _stop.Token;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await input.ReadAsync(token);
            }
            catch (Exception)
            {
                // A cancelled read means the relay is stopping; anything else is a downstream reset.
                if (!token.IsCancellationRequested)
                {
                    Stop(DownstreamFailed);
                }

                return;
            }

            var buffer = read.Buffer;
            try
            {
                foreach (var segment in buffer)
                {
                    var remaining = segment;
                    while (!remaining.IsEmpty)
                    {
                        var sent = await _upstream.SendAsync(remaining, SocketFlags.None, token);
                        remaining = remaining[sent..];
                    }

                    BytesFromDownstream += segment.Length;
                    _stats.DownstreamCxRxBytesTotal.Add(segment.Length);
                    _clusterStats.UpstreamCxTxBytesTotal.Add(segment.Length);
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                Stop(UpstreamFailed);
                return;
            }
            finally
            {
                input.AdvanceTo(buffer.End);
            }

            if (!buffer.IsEmpty)
            {
                Touch();
            }

            if (read.IsCompleted)
            {
                // Downstream sent FIN: pass it on and keep the other direction open.
                try
                {
                    _upstream.Shutdown(SocketShutdown.Send);
                }
                catch (SocketException)
                {
                    // The upstream already went away; the other direction notices.
                }

                return;
            }

            if (read.IsCanceled && token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task UpstreamToDownstreamAsync()
    {
        var output = _downstream.Output;
        var token = _stop.Token;
        while (true)
        {
            var memory = output.GetMemory(ReceiveSize);
            int received;
            try
            {
                received = await _upstream.ReceiveAsync(memory, SocketFlags.None, token);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                Stop(UpstreamFailed);
                return;
            }

            if (received == 0)
            {
                // Upstream sent FIN: half-close downstream; the other direction stays open.
                await output.CompleteAsync();
                return;
            }

            output.Advance(received);
            BytesToDownstream += received;
            _stats.DownstreamCxTxBytesTotal.Add(received);
            _clusterStats.UpstreamCxRxBytesTotal.Add(received);
            Touch();

            FlushResult flush;
            try
            {
                flush = await output.FlushAsync(token);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception)
            {
                Stop(DownstreamFailed);
                return;
            }

            if (flush.IsCompleted)
            {
                // Nobody reads downstream any more: the downstream connection is gone.
                Stop(DownstreamFailed);
                return;
            }

            if (flush.IsCanceled && token.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void Touch()
    {
        if (_idleTimer is not null)
        {
            Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        }
    }

    private void OnIdleTimer()
    {
        var idleFor = _time.GetElapsedTime(Volatile.Read(ref _lastActivity));
        if (idleFor >= _idleTimeout)
        {
            if (Stop(IdleTimedOut))
            {
                _stats.IdleTimeout.Increment();
            }

            return;
        }

        try
        {
            _idleTimer?.Change(Clamp(_idleTimeout - idleFor), Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The relay ended meanwhile.
        }
    }

    /// <summary>Records why the relay ends (first reason wins) and wakes both pumps.</summary>
    private bool Stop(int reason)
    {
        if (Interlocked.CompareExchange(ref _state, reason, Running) != Running)
        {
            return false;
        }

        try
        {
            _stop.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The relay ended while this callback ran.
        }

        return true;
    }

    private void ResetUpstream()
    {
        try
        {
            // Linger zero makes close send RST instead of FIN.
            _upstream.LingerState = new LingerOption(true, 0);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already closed.
        }

        _upstream.Dispose();
    }

    private static TimeSpan Clamp(TimeSpan due) => due < TcpProxyHandler.MaxTimerDue ? due : TcpProxyHandler.MaxTimerDue;
}
