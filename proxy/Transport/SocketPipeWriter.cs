using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Transport;

/// <summary>
/// A <see cref="PipeWriter"/> that sends to the socket itself when flushed, instead of through
/// the transport's output pipe and its send loop: one pipe hand-off, its locks and a
/// resumed send loop less for every response head and every request sent upstream.
/// Everything written goes this way, so bytes keep their order; completing it completes
/// <paramref name="transportOutput"/>, after the last send, so the transport then shuts
/// the socket down as it would have. A failed send makes every later flush report the
/// reader completed, as a pipe whose send loop hit the error does.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Complete disposes it: a pipe end's lifetime ends there.")]
internal sealed class SocketPipeWriter(Socket socket, PipeWriter transportOutput) : PipeWriter
{
    private const int MinimumBufferSize = 4096;

    private readonly Socket _socket = socket;
    private readonly PipeWriter _transportOutput = transportOutput;

    // Made up front, so a cancel from another thread never misses a send just started.
    private CancellationTokenSource _flushCancellation = new();
    private byte[]? _buffer;
    private int _length;
    private int _cancelRequested;
    private bool _broken;
    private bool _completed;

    public override void Advance(int bytes)
    {
        if (_buffer is null || bytes < 0 || _length + bytes > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), "Advance past the memory handed out");
        }

        _length += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_length);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_length);

    public override void CancelPendingFlush()
    {
        Volatile.Write(ref _cancelRequested, 1);
        try
        {
            Volatile.Read(ref _flushCancellation).Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Completed meanwhile: nothing is pending.
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _cancelRequested, 0) != 0)
        {
            ResetCancellation();
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: true, isCompleted: _broken));
        }

        if (_length == 0 || _broken)
        {
            _length = 0;
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: _broken));
        }

        // Bytes sent without waiting is the common case: no cancellation is registered then.
        ValueTask<int> sending;
        try
        {
            sending = _socket.SendAsync(_buffer.AsMemory(0, _length), SocketFlags.None, _flushCancellation.Token);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return new ValueTask<FlushResult>(Broken());
        }

        if (sending.IsCompletedSuccessfully)
        {
            _ = sending.Result;
            ClearBuffer();
            return default;
        }

        return WaitForSendAsync(sending, cancellationToken);
    }

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        ReleaseBuffer();
        _flushCancellation.Dispose();
        _transportOutput.Complete(exception);
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        // A pipe's reader sees what was written before Complete, flushed or not.
        if (_length > 0 && exception is null)
        {
            await FlushAsync().ConfigureAwait(false);
        }

        Complete(exception);
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<FlushResult> WaitForSendAsync(ValueTask<int> sending, CancellationToken cancellationToken)
    {
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((SocketPipeWriter)state!).CancelPendingFlush(), this)
            : default;
        try
        {
            await sending.ConfigureAwait(false);
            ClearBuffer();
            return default;
        }
        catch (OperationCanceledException)
        {
            // Part of the buffer may be gone: the caller ends the stream, as after a canceled pipe flush.
            Interlocked.Exchange(ref _cancelRequested, 0);
            ResetCancellation();
            ClearBuffer();
            return new FlushResult(isCanceled: true, isCompleted: false);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
        {
            return Broken();
        }
    }

    private void ResetCancellation()
    {
        if (!_flushCancellation.TryReset())
        {
            _flushCancellation.Dispose();
            Volatile.Write(ref _flushCancellation, new CancellationTokenSource());
        }
    }

    // Sent, or given up on: either way the bytes are no longer the writer's.
    private void ClearBuffer()
    {
        _length = 0;
        ReleaseBuffer();
    }

    private FlushResult Broken()
    {
        _broken = true;
        ClearBuffer();
        return new FlushResult(isCanceled: false, isCompleted: true);
    }

    private byte[] Reserve(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = _length + Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(needed, MinimumBufferSize));
        }
        else if (_buffer.Length < needed)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
            _buffer.AsSpan(0, _length).CopyTo(grown);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = grown;
        }

        return _buffer;
    }

    // Back to the pool between flushes: an idle keep-alive connection holds no send buffer.
    private void ReleaseBuffer()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
