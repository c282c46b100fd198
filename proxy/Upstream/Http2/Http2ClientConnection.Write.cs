using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// The send side: frames are appended under the connection's lock, and whoever finds no
/// send in progress sends everything pending (its own frames and those others appended
/// meanwhile) in one system call. The read loop never waits for a send.
/// </summary>
internal sealed partial class Http2ClientConnection
{
    /// <summary>
    /// Sends what is pending soon, from the thread pool, without waiting: requests that
    /// arrive together (a client's batch of streams, dispatched one work item each) are
    /// written in one send instead of one each, which halved the send calls per request.
    /// </summary>
    public void ScheduleFlush()
    {
        lock (_lock)
        {
            if (_flushScheduled || _flushing || _pending.Length == 0 || _closedBy is not null)
            {
                return;
            }

            _flushScheduled = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
    }

    void IThreadPoolWorkItem.Execute()
    {
        lock (_lock)
        {
            _flushScheduled = false;
        }

        Forget(FlushAsync());
    }

    /// <summary>Sends what is pending, unless a send is already under way (it will take these bytes too).</summary>
    public ValueTask FlushAsync()
    {
        lock (_lock)
        {
            if (_flushing || _pending.Length == 0 || _closedBy is not null)
            {
                return default;
            }

            _flushing = true;
        }

        return SendPendingAsync();
    }

    /// <summary>
    /// DATA frames for <paramref name="data"/>, as far as the stream's and the connection's send
    /// windows allow (waiting for WINDOW_UPDATE otherwise). They are sent on the next flush.
    /// </summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask WriteDataAsync(Http2ClientStream stream, ReadOnlyMemory<byte> data, bool endStream, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? wait = null;
            lock (_lock)
            {
                if (stream.LocalClosed || _closedBy is not null)
                {
                    throw new HttpRequestException(HttpRequestError.Unknown, "the upstream stream ended before the request body was sent");
                }

                while (!data.IsEmpty)
                {
                    var allowed = (int)Math.Min(Math.Min(stream.SendWindow, _connectionSendWindow), Math.Min(_peerMaxFrameSize, data.Length));
                    if (allowed <= 0)
                    {
                        var waiter = stream.WindowWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        wait = waiter.Task;
                        break;
                    }

                    var last = allowed == data.Length;
                    AppendDataFrame(stream, data.Span[..allowed], endStream && last);
                    stream.SendWindow -= allowed;
                    _connectionSendWindow -= allowed;
                    data = data[allowed..];
                }

                if (wait is null)
                {
                    if (endStream && !stream.LocalClosed)
                    {
                        AppendDataFrame(stream, [], endStream: true);
                    }

                    return;
                }
            }

            // Frames written so far go out while this one waits for credit.
            await FlushAsync().ConfigureAwait(false);
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>END_STREAM after the request body: on the last DATA frame when it has not been sent yet.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask EndRequestBodyAsync(Http2ClientStream stream)
    {
        bool closeNow;
        lock (_lock)
        {
            if (stream.LocalClosed || _closedBy is not null)
            {
                return;
            }

            if (stream.LastDataFrameGeneration == _pendingGeneration && stream.LastDataFrameOffset >= 0)
            {
                _pending.WrittenSpan[stream.LastDataFrameOffset + 4] |= Http2Frame.EndStream;
            }
            else
            {
                AppendDataFrame(stream, [], endStream: true);
            }

            stream.LocalClosed = true;
            closeNow = stream.RemoteClosed;
        }

        ScheduleFlush();
        if (closeNow)
        {
            CloseStream(stream);
        }
    }

    // Under the lock: a new stream id, in the order HEADERS are written, as RFC 9113 requires.
    private void WriteHeaders(Http2ClientStream stream, HttpRequestMessage request, bool endStream)
    {
        var start = _pending.Length;
        var generation = _pendingGeneration;
        try
        {
            _pending.GetSpan(Http2Frame.HeaderLength);
            _pending.Advance(Http2Frame.HeaderLength);
            WriteHeaderBlock(_pending, request);
        }
        catch
        {
            _pending.Length = start;
            throw;
        }

        var id = _nextStreamId;
        _nextStreamId += 2;
        stream.Id = id;
        stream.SendWindow = _peerInitialWindowSize;
        stream.ReceiveWindow = StreamReceiveWindow;
        stream.LocalClosed = endStream;
        stream.LastDataFrameOffset = -1;
        stream.LastDataFrameGeneration = generation - 1;
        _streams[id] = stream;

        var blockLength = _pending.Length - start - Http2Frame.HeaderLength;
        var flags = endStream ? Http2Frame.EndStream : (byte)0;
        if (blockLength <= _peerMaxFrameSize)
        {
            Http2Frame.WriteHeader(_pending.WrittenSpan[start..], blockLength, Http2FrameType.Headers, (byte)(flags | Http2Frame.EndHeaders), id);
            return;
        }

        // A header block over the peer's frame size: HEADERS then CONTINUATION frames.
        Http2Frame.WriteHeader(_pending.WrittenSpan[start..], _peerMaxFrameSize, Http2FrameType.Headers, flags, id);
        var offset = start + Http2Frame.HeaderLength + _peerMaxFrameSize;
        var remaining = blockLength - _peerMaxFrameSize;
        while (remaining > 0)
        {
            var length = Math.Min(remaining, _peerMaxFrameSize);
            _pending.Insert(offset, Http2Frame.HeaderLength);
            Http2Frame.WriteHeader(_pending.WrittenSpan[offset..], length, Http2FrameType.Continuation, length == remaining ? Http2Frame.EndHeaders : (byte)0, id);
            offset += Http2Frame.HeaderLength + length;
            remaining -= length;
        }
    }

    private static void WriteHeaderBlock(FrameBuffer buffer, HttpRequestMessage request)
    {
        var method = request.Method;
        if (ReferenceEquals(method, HttpMethod.Get))
        {
            HPackEncoder.WriteIndexed(buffer, HPackEncoder.MethodGet);
        }
        else if (ReferenceEquals(method, HttpMethod.Post))
        {
            HPackEncoder.WriteIndexed(buffer, HPackEncoder.MethodPost);
        }
        else
        {
            HPackEncoder.WriteLiteral(buffer, HPackEncoder.Method, method.Method);
        }

        HPackEncoder.WriteIndexed(buffer, HPackEncoder.SchemeHttp);
        var uri = request.RequestUri ?? throw new HttpRequestException("the request has no URI");
        var pathAndQuery = uri.PathAndQuery;
        if (pathAndQuery == "/")
        {
            HPackEncoder.WriteIndexed(buffer, HPackEncoder.PathRoot);
        }
        else
        {
            HPackEncoder.WriteLiteral(buffer, HPackEncoder.Path, pathAndQuery);
        }

        // Pseudo-header fields come before all others (RFC 9113 8.3).
        var headers = request.Headers.NonValidated;
        var authority = headers.TryGetValues("Host", out var hosts) && hosts.Count > 0 ? FirstOf(hosts) : uri.Authority;
        HPackEncoder.WriteLiteral(buffer, HPackEncoder.Authority, authority);
        foreach (var (name, values) in headers)
        {
            if (IsConnectionSpecific(name) || string.Equals(name, "Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            foreach (var value in values)
            {
                HPackEncoder.WriteLiteral(buffer, name, value);
            }
        }

        if (request.Content is { } content)
        {
            foreach (var (name, values) in content.Headers.NonValidated)
            {
                foreach (var value in values)
                {
                    HPackEncoder.WriteLiteral(buffer, name, value);
                }
            }
        }
    }

    private static string FirstOf(System.Net.Http.Headers.HeaderStringValues values)
    {
        foreach (var value in values)
        {
            return value;
        }

        return string.Empty;
    }

    // RFC 9113 8.2.2: these never travel on HTTP/2 (te only as "trailers", which the forwarder already ensures).
    private static bool IsConnectionSpecific(string name) =>
        name.Length is 7 or 10 or 16 or 17
        && (string.Equals(name, "upgrade", StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, "connection", StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, "keep-alive", StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, "proxy-connection", StringComparison.OrdinalIgnoreCase)
            || string.Equals(name, "transfer-encoding", StringComparison.OrdinalIgnoreCase));

    // Under the lock.
    private void AppendDataFrame(Http2ClientStream stream, ReadOnlySpan<byte> data, bool endStream)
    {
        stream.LastDataFrameOffset = _pending.Length;
        stream.LastDataFrameGeneration = _pendingGeneration;
        var span = _pending.GetSpan(Http2Frame.HeaderLength + data.Length);
        Http2Frame.WriteHeader(span, data.Length, Http2FrameType.Data, endStream ? Http2Frame.EndStream : (byte)0, stream.Id);
        data.CopyTo(span[Http2Frame.HeaderLength..]);
        _pending.Advance(Http2Frame.HeaderLength + data.Length);
        if (endStream)
        {
            stream.LocalClosed = true;
        }
    }

    // Under the lock.
    private void WriteRstStream(int streamId, Http2ErrorCode code)
    {
        var span = _pending.GetSpan(Http2Frame.HeaderLength + 4);
        Http2Frame.WriteHeader(span, 4, Http2FrameType.RstStream, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span[Http2Frame.HeaderLength..], (uint)code);
        _pending.Advance(Http2Frame.HeaderLength + 4);
    }

    // Under the lock.
    private void WriteWindowUpdate(int streamId, int increment)
    {
        var span = _pending.GetSpan(Http2Frame.HeaderLength + 4);
        Http2Frame.WriteHeader(span, 4, Http2FrameType.WindowUpdate, 0, streamId);
        BinaryPrimitives.WriteUInt32BigEndian(span[Http2Frame.HeaderLength..], (uint)increment);
        _pending.Advance(Http2Frame.HeaderLength + 4);
    }

    // Under the lock.
    private void WriteGoAway(Http2ErrorCode code)
    {
        var span = _pending.GetSpan(Http2Frame.HeaderLength + 8);
        Http2Frame.WriteHeader(span, 8, Http2FrameType.GoAway, 0, 0);
        BinaryPrimitives.WriteUInt32BigEndian(span[Http2Frame.HeaderLength..], 0); // we accept no streams from the peer
        BinaryPrimitives.WriteUInt32BigEndian(span[(Http2Frame.HeaderLength + 4)..], (uint)code);
        _pending.Advance(Http2Frame.HeaderLength + 8);
    }

    // Under the lock.
    private void WriteFrame(Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        var span = _pending.GetSpan(Http2Frame.HeaderLength + payload.Length);
        Http2Frame.WriteHeader(span, payload.Length, type, flags, streamId);
        payload.CopyTo(span[Http2Frame.HeaderLength..]);
        _pending.Advance(Http2Frame.HeaderLength + payload.Length);
    }

    /// <summary>Starts a send of what is pending without waiting for it (read loop, resets, window updates).</summary>
    private void Kick()
    {
        Forget(FlushAsync());
    }

    /// <summary>
    /// GOAWAY with <paramref name="code"/>, before the connection is closed (a protocol error,
    /// a drain): a send already under way takes it along, and this waits for that send (at
    /// most a second, in case the upstream stopped reading). Closing at once would cut it off.
    /// </summary>
    private async ValueTask SendGoAwayAsync(Http2ErrorCode code)
    {
        Task? sent = null;
        lock (_lock)
        {
            if (_closedBy is not null)
            {
                return;
            }

            WriteGoAway(code);
            if (_flushing)
            {
                _flushDone ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                sent = _flushDone.Task;
            }
        }

        try
        {
            if (sent is not null)
            {
                await sent.WaitAsync(GoAwaySendTimeout, Pool.Time).ConfigureAwait(false);
            }
            else
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (TimeoutException)
        {
            // The upstream is not reading: the connection closes without the frame.
        }
    }

    /// <summary>On close: a GOAWAY or reset still pending is sent now if no send is under way (best effort).</summary>
    private void SendLastFrames()
    {
        FrameBuffer? last = null;
        lock (_lock)
        {
            if (!_flushing && _pending.Length > 0)
            {
                last = _pending;
                _flushing = true;
            }
        }

        if (last is null)
        {
            return;
        }

        try
        {
            _socket.Send(last.WrittenSpan, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // The peer is gone already.
        }

        lock (_lock)
        {
            _pending.Release();
            _sending.Release();
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask SendPendingAsync()
    {
        while (true)
        {
            FrameBuffer sending;
            lock (_lock)
            {
                if (_pending.Length == 0 || _closedBy is not null)
                {
                    _flushing = false;
                    _sending.TrimIfLarge();
                    SignalFlushDone();
                    return;
                }

                sending = _pending;
                _pending = _sending;
                _sending = sending;
                _pendingGeneration++;
            }

            try
            {
                await _socket.SendAsync(sending.Written, SocketFlags.None).ConfigureAwait(false);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                lock (_lock)
                {
                    _flushing = false;
                    SignalFlushDone();
                }

                Close(new HttpRequestException(HttpRequestError.Unknown, "sending to the upstream failed", e));
                return;
            }

            sending.Length = 0;
        }
    }

    // Under the lock: whoever waits for the running send to finish (SendGoAwayAsync) goes on.
    private void SignalFlushDone()
    {
        if (_flushDone is { } done)
        {
            _flushDone = null;
            done.TrySetResult();
        }
    }
}
