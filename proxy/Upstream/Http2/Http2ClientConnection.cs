using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// Herald's own HTTP/2 client connection (prior knowledge, cleartext) to one upstream
/// endpoint: requests from many downstream streams multiplexed on it, frames of all of them
/// coalesced into as few sends as the moment allows, and responses handed to the waiting
/// forwarder on the read loop itself. It replaces SocketsHttpHandler on the h2c hot path,
/// where that client's request, header and stream objects and its write queue were about a
/// quarter of the proxy's CPU.
/// </summary>
internal sealed partial class Http2ClientConnection : IThreadPoolWorkItem
{
    /// <summary>Our SETTINGS_INITIAL_WINDOW_SIZE: what one response may have in flight unread.</summary>
    internal const int StreamReceiveWindow = 256 * 1024;

    /// <summary>The connection's receive window: what all responses together may have in flight unread.</summary>
    internal const int ConnectionReceiveWindow = 4 * 1024 * 1024;

    /// <summary>SETTINGS_MAX_HEADER_LIST_SIZE we announce and enforce on responses (SocketsHttpHandler's limit was the same).</summary>
    internal const int MaxResponseHeaderListSize = 96 * 1024;

    // Before the peer's SETTINGS arrive we assume what Kestrel, nginx and Envoy allow.
    private const int AssumedMaxConcurrentStreams = 100;

    // Stream ids run out at 2^31; a connection near the end takes no new streams.
    private const int LastStreamId = int.MaxValue - 2;

    private static readonly TimeSpan GoAwaySendTimeout = TimeSpan.FromSeconds(1);

    private readonly Socket _socket;
    private readonly Lock _lock = new();
    private readonly Dictionary<int, Http2ClientStream> _streams = [];
    private readonly HPackDecoder _decoder = new(maxHeaderListSize: MaxResponseHeaderListSize);
    private FrameBuffer _pending = new();
    private FrameBuffer _sending = new();
    private long _pendingGeneration;
    private bool _flushing;
    private bool _flushScheduled;
    private TaskCompletionSource? _flushDone;
    private int _nextStreamId = 1;
    private int _activeStreams;
    private int _maxConcurrentStreams = AssumedMaxConcurrentStreams;
    private int _peerInitialWindowSize = Http2Frame.DefaultWindowSize;
    private int _peerMaxFrameSize = Http2Frame.DefaultMaxFrameSize;
    private long _connectionSendWindow = Http2Frame.DefaultWindowSize;
    private int _connectionUnacknowledged;
    private bool _goingAway;
    private Exception? _closedBy;
    private long _idleSince;
    private readonly TaskCompletionSource _firstSettings = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Http2ClientConnection(Http2ConnectionPool pool, Socket socket)
    {
        Pool = pool;
        _socket = socket;
        _idleSince = Pool.Time.GetTimestamp();
    }

    public Http2ConnectionPool Pool { get; }

    /// <summary>Completes when the upstream's first SETTINGS arrived (its stream limit is known then); fails if the connection closes first.</summary>
    public Task FirstSettings => _firstSettings.Task;

    public ResponseHeaderStrings HeaderStrings { get; } = new();

    /// <summary>Streams open or reserved on this connection.</summary>
    public int ActiveStreams => Volatile.Read(ref _activeStreams);

    /// <summary>The pool clock's timestamp when the last stream ended (meaningful while no stream is active).</summary>
    public long IdleSince => Volatile.Read(ref _idleSince);

    /// <summary>Writes the preface and our SETTINGS, and starts the read loop.</summary>
    public void Start()
    {
        lock (_lock)
        {
            _pending.Write(Http2Frame.ClientPreface);
            var span = _pending.GetSpan(Http2Frame.HeaderLength + 18 + Http2Frame.HeaderLength + 4);
            Http2Frame.WriteHeader(span, 18, Http2FrameType.Settings, 0, 0);
            WriteSetting(span[9..], 0x2, 0); // ENABLE_PUSH
            WriteSetting(span[15..], 0x4, StreamReceiveWindow); // INITIAL_WINDOW_SIZE
            WriteSetting(span[21..], 0x6, MaxResponseHeaderListSize); // MAX_HEADER_LIST_SIZE
            Http2Frame.WriteHeader(span[27..], 4, Http2FrameType.WindowUpdate, 0, 0);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(span[36..], ConnectionReceiveWindow - Http2Frame.DefaultWindowSize);
            _pending.Advance(40);
        }

        Forget(FlushAsync());
        _ = ReadLoopAsync();

        static void WriteSetting(Span<byte> destination, ushort id, int value)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(destination, id);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(destination[2..], (uint)value);
        }
    }

    /// <summary>Takes a stream slot if this connection has one free; the caller then sends or gives it back.</summary>
    public bool TryReserveStream()
    {
        lock (_lock)
        {
            if (_closedBy is not null || _goingAway || _activeStreams >= _maxConcurrentStreams || _nextStreamId > LastStreamId)
            {
                return false;
            }

            _activeStreams++;
            return true;
        }
    }

    /// <summary>
    /// Sends <paramref name="request"/> on a stream reserved with <see cref="TryReserveStream"/>
    /// and returns when the response head arrives; the body streams after that. Throws
    /// <see cref="HttpRequestException"/> as SocketsHttpHandler would (a refused stream carries
    /// an <see cref="HttpProtocolException"/> with REFUSED_STREAM).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    public async ValueTask<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var stream = Pool.RentStream();
        stream.Start(this, request);
        var content = request.Content;
        try
        {
            lock (_lock)
            {
                if (_closedBy is not null)
                {
                    throw new UnprocessedRequestException("the upstream connection closed before the request was sent", bodyStarted: false);
                }

                WriteHeaders(stream, request, endStream: content is null);
            }
        }
        catch
        {
            lock (_lock)
            {
                _activeStreams--;
            }

            stream.Release();
            stream.Release();
            throw;
        }

        if (content is not null)
        {
            // Runs until the body has to wait for the client; what it wrote by then goes with
            // the HEADERS. It holds the stream until it is done.
            stream.AddHold();
            stream.BodyStarted = true;
            Forget(SendBodyAsync(stream, content));
        }

        ScheduleFlush();

        // Disposed before the consumer's hold is dropped: a late callback never meets a recycled stream.
        var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static (state, token) => ((Http2ClientStream)state!).Connection.Abandon((Http2ClientStream)state!, new OperationCanceledException(token)), stream)
            : default;
        HttpResponseMessage response;
        try
        {
            response = await new ValueTask<HttpResponseMessage>(stream, stream.Version).ConfigureAwait(false);
        }
        catch
        {
            registration.Dispose();
            stream.Release();
            throw;
        }

        registration.Dispose();
        return response;
    }

    /// <summary>The forwarder disposed the response: a stream still open is reset, and the consumer's hold ends.</summary>
    public void OnResponseDisposed(Http2ClientStream stream)
    {
        bool credited;
        lock (_lock)
        {
            // What the consumer left unread is nobody's: the connection gets its credit back.
            credited = _closedBy is null && CreditConnection((int)(stream.DeliveredBytes - stream.ConsumedBytes));
            stream.ConsumedBytes = stream.DeliveredBytes;
        }

        if (credited)
        {
            Kick();
        }

        if (!stream.RemoteClosed || !stream.LocalClosed)
        {
            Abandon(stream, new IOException("the response was disposed before its end"));
        }
        else
        {
            // A trailers-only or already complete exchange: the wire side is closed or about to be.
            CloseStream(stream);
        }

        stream.BodyReader.Complete();
        stream.Release();
    }

    /// <summary>Body bytes the consumer took: flow-control credit goes back to the peer in batches.</summary>
    public void OnBodyConsumed(Http2ClientStream stream, int count)
    {
        var kick = false;
        lock (_lock)
        {
            if (_closedBy is not null)
            {
                return;
            }

            stream.ConsumedBytes += count;
            kick = CreditConnection(count);

            if (!stream.RemoteClosed)
            {
                stream.UnacknowledgedBytes += count;
                if (stream.UnacknowledgedBytes >= StreamReceiveWindow / 2)
                {
                    WriteWindowUpdate(stream.Id, stream.UnacknowledgedBytes);
                    stream.ReceiveWindow += stream.UnacknowledgedBytes;
                    stream.UnacknowledgedBytes = 0;
                    kick = true;
                }
            }
        }

        if (kick)
        {
            Kick();
        }
    }

    /// <summary>
    /// Ends the stream from our side: RST_STREAM (CANCEL) unless both sides already ended it,
    /// its waiters failed with <paramref name="error"/>, its frames ignored from now on.
    /// </summary>
    public void Abandon(Http2ClientStream stream, Exception error, Http2ErrorCode code = Http2ErrorCode.Cancel)
    {
        bool reset;
        lock (_lock)
        {
            if (stream.Connection != this || stream.Id == 0)
            {
                return;
            }

            reset = !(stream.RemoteClosed && stream.LocalClosed) && _closedBy is null;
            if (reset)
            {
                WriteRstStream(stream.Id, code);
            }

            stream.LocalClosed = true;
            stream.WindowWaiter?.TrySetResult();
            stream.WindowWaiter = null;
        }

        if (stream.RemoteClosed)
        {
            stream.CancelBody();
        }
        else
        {
            stream.Fail(error);
        }

        CloseStream(stream);
        if (reset)
        {
            Kick();
        }
    }

    /// <summary>Closes the connection: every open stream fails, the socket is shut.</summary>
    public void Close(Exception reason)
    {
        List<Http2ClientStream> failed;
        lock (_lock)
        {
            if (_closedBy is not null)
            {
                return;
            }

            _closedBy = reason;
            failed = [.. _streams.Values];
            _streams.Clear();
            foreach (var stream in failed)
            {
                stream.WindowWaiter?.TrySetResult();
                stream.WindowWaiter = null;
            }
        }

        // Out of the pool first: once the peer sees the connection end, the pool no longer counts it.
        Pool.OnClosed(this);
        _firstSettings.TrySetException(reason);
        SendLastFrames();
        var error = reason as HttpRequestException ?? new HttpRequestException(HttpRequestError.Unknown, "the upstream connection closed", reason);
        foreach (var stream in failed)
        {
            if (stream.RemoteClosed)
            {
                stream.CancelBody();
            }
            else
            {
                stream.Fail(error);
            }

            stream.Release();
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // Already gone.
        }
        catch (ObjectDisposedException)
        {
            // Already gone.
        }

        _socket.Dispose();
    }

    /// <summary>Stops taking new streams and closes once the open ones are done (endpoint removed, pool disposed).</summary>
    public void Drain()
    {
        bool announce;
        lock (_lock)
        {
            announce = !_goingAway && _closedBy is null;
            _goingAway = true;
        }

        Forget(DrainAsync(announce));
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask DrainAsync(bool announce)
    {
        if (announce)
        {
            await SendGoAwayAsync(Http2ErrorCode.NoError).ConfigureAwait(false);
        }

        if (ActiveStreams == 0)
        {
            Close(new HttpRequestException(HttpRequestError.Unknown, "the upstream connection was drained"));
        }
    }

    // The read loop (or a reset) is done with the stream's wire side.
    private void CloseStream(Http2ClientStream stream)
    {
        bool drainedOut;
        lock (_lock)
        {
            if (!_streams.Remove(stream.Id))
            {
                return;
            }

            _activeStreams--;
            if (_activeStreams == 0)
            {
                Volatile.Write(ref _idleSince, Pool.Time.GetTimestamp());
            }

            drainedOut = _goingAway && _activeStreams == 0;
        }

        stream.Release();
        if (drainedOut)
        {
            Close(new HttpRequestException(HttpRequestError.Unknown, "the upstream connection went away"));
        }
    }

    /// <summary>Lets a ValueTask run on without a waiter; its result (never an exception here) is collected.</summary>
    internal static void Forget(ValueTask task)
    {
        if (task.IsCompleted)
        {
            task.GetAwaiter().GetResult();
            return;
        }

        _ = task.AsTask();
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendBodyAsync(Http2ClientStream stream, HttpContent content)
    {
        try
        {
            await content.CopyToAsync(new Http2RequestBodyStream(this, stream), stream.BodyCancellation).ConfigureAwait(false);
            await EndRequestBodyAsync(stream).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // The client's body failed or the stream ended meanwhile: the upstream must not wait for the rest.
            Abandon(stream, e as HttpRequestException ?? new HttpRequestException(HttpRequestError.Unknown, "the request body could not be sent", e));
        }
        finally
        {
            stream.Release();
        }
    }
}
