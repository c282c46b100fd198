using System.Buffers;
using System.Buffers.Binary;
using System.Net.Sockets;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// The receive side: one loop per connection reads frames straight from the socket into one
/// buffer (no pipe in between), decodes header blocks and hands each response to its waiting
/// stream. Anything that breaks the protocol closes the connection with GOAWAY.
/// </summary>
internal sealed partial class Http2ClientConnection
{
    private const int ReceiveBufferSize = 64 * 1024;

    // A header block split over CONTINUATION frames may not grow past this.
    private const int MaxHeaderBlockSize = MaxResponseHeaderListSize * 2;

    private byte[]? _headerBlock;
    private int _headerBlockLength;
    private int _continuationStreamId;
    private bool _continuationEndStream;
    private long _connectionReceiveWindow = ConnectionReceiveWindow;

    private async Task ReadLoopAsync()
    {
        var buffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        var start = 0;
        var end = 0;
        Exception reason;
        Http2ErrorCode? goAway = null;
        try
        {
            while (true)
            {
                var received = await _socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None).ConfigureAwait(false);
                if (received == 0)
                {
                    reason = new HttpRequestException(HttpRequestError.ResponseEnded, "the upstream closed the connection");
                    break;
                }

                end += received;
                while (end - start >= Http2Frame.HeaderLength)
                {
                    var length = Http2Frame.ReadLength(buffer.AsSpan(start));
                    if (length > Http2Frame.DefaultMaxFrameSize)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"the upstream sent a frame of {length} bytes, over the 16384 allowed");
                    }

                    if (end - start < Http2Frame.HeaderLength + length)
                    {
                        break;
                    }

                    ProcessFrame(buffer.AsSpan(start, Http2Frame.HeaderLength), buffer.AsSpan(start + Http2Frame.HeaderLength, length));
                    start += Http2Frame.HeaderLength + length;
                }

                if (start == end)
                {
                    start = end = 0;
                }
                else if (buffer.Length - end < Http2Frame.HeaderLength + Http2Frame.DefaultMaxFrameSize)
                {
                    buffer.AsSpan(start, end - start).CopyTo(buffer);
                    end -= start;
                    start = 0;
                }
            }
        }
        catch (Http2ConnectionException e)
        {
            goAway = e.ErrorCode;
            reason = new HttpRequestException(HttpRequestError.HttpProtocolError, e.Message, new HttpProtocolException((long)e.ErrorCode, e.Message, null));
        }
        catch (HPackDecodingException e)
        {
            goAway = Http2ErrorCode.CompressionError;
            reason = new HttpRequestException(HttpRequestError.HttpProtocolError, e.Message, new HttpProtocolException((long)Http2ErrorCode.CompressionError, e.Message, e));
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            reason = new HttpRequestException(HttpRequestError.Unknown, "the upstream connection failed", e);
        }
        catch (Exception e)
        {
            // A bug of ours must not leave a connection in the pool that nobody reads.
            reason = new HttpRequestException(HttpRequestError.Unknown, "the upstream connection failed: " + e.Message, e);
        }

        ArrayPool<byte>.Shared.Return(buffer);
        if (_headerBlock is { } block)
        {
            _headerBlock = null;
            ArrayPool<byte>.Shared.Return(block);
        }

        if (goAway is { } code)
        {
            await SendGoAwayAsync(code).ConfigureAwait(false);
        }

        Close(reason);
    }

    private void ProcessFrame(ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        var type = (Http2FrameType)header[3];
        var flags = header[4];
        var streamId = Http2Frame.ReadStreamId(header);
        if (_continuationStreamId != 0 && type != Http2FrameType.Continuation)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream interrupted a header block");
        }

        switch (type)
        {
            case Http2FrameType.Data:
                OnData(flags, streamId, payload);
                break;
            case Http2FrameType.Headers:
                OnHeaders(flags, streamId, payload);
                break;
            case Http2FrameType.Continuation:
                OnContinuation(flags, streamId, payload);
                break;
            case Http2FrameType.RstStream:
                OnRstStream(streamId, payload);
                break;
            case Http2FrameType.Settings:
                OnSettings(flags, streamId, payload);
                break;
            case Http2FrameType.Ping:
                OnPing(flags, streamId, payload);
                break;
            case Http2FrameType.GoAway:
                OnGoAway(streamId, payload);
                break;
            case Http2FrameType.WindowUpdate:
                OnWindowUpdate(streamId, payload);
                break;
            case Http2FrameType.PushPromise:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent PUSH_PROMISE although push is disabled");
            default:
                // PRIORITY and unknown frame types are ignored (RFC 9113 sections 5.3.2 and 5.5).
                break;
        }
    }

    private void OnData(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (streamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent DATA on stream 0");
        }

        var data = RemovePadding(flags, payload);
        Http2ClientStream? stream;
        var kick = false;
        var overflow = false;
        lock (_lock)
        {
            _connectionReceiveWindow -= payload.Length;
            if (_connectionReceiveWindow < 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "the upstream sent more DATA than the connection window allows");
            }

            if (!_streams.TryGetValue(streamId, out stream) || stream.RemoteClosed)
            {
                ThrowIfIdle(streamId, "DATA");

                // A stream we reset or finished: its bytes still count on the connection.
                kick = CreditConnection(payload.Length);
                stream = null;
            }
            else
            {
                // Held while the read loop works on it: a consumer may finish and recycle it inline.
                stream.AddHold();
                stream.ReceiveWindow -= payload.Length;
                overflow = stream.ReceiveWindow < 0;

                // Padding is nobody's to read, nor is a frame the stream refuses: their credit goes back at once.
                stream.UnacknowledgedBytes += payload.Length - data.Length;
                if (overflow || stream.AwaitingHead)
                {
                    kick = CreditConnection(payload.Length);
                }
                else
                {
                    stream.DeliveredBytes += data.Length;
                    kick = CreditConnection(payload.Length - data.Length);
                }
            }
        }

        if (kick)
        {
            Kick();
        }

        if (stream is null)
        {
            return;
        }

        try
        {
            if (overflow || stream.AwaitingHead)
            {
                Abandon(stream, StreamError(overflow ? "the upstream sent more DATA than the stream window allows" : "the upstream sent DATA before the response head"), overflow ? Http2ErrorCode.FlowControlError : Http2ErrorCode.ProtocolError);
                return;
            }

            var endStream = (flags & Http2Frame.EndStream) != 0;
            stream.OnData(data);
            if (endStream)
            {
                EndRemote(stream);
            }
        }
        finally
        {
            stream.Release();
        }
    }

    private void OnHeaders(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (streamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent HEADERS on stream 0");
        }

        var fragment = RemovePadding(flags, payload);
        if ((flags & Http2Frame.PriorityFlag) != 0)
        {
            if (fragment.Length < 5)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent a HEADERS frame too short for its priority");
            }

            fragment = fragment[5..];
        }

        var endStream = (flags & Http2Frame.EndStream) != 0;
        if ((flags & Http2Frame.EndHeaders) != 0)
        {
            OnHeaderBlock(streamId, fragment, endStream);
            return;
        }

        _continuationStreamId = streamId;
        _continuationEndStream = endStream;
        _headerBlockLength = 0;
        AppendHeaderFragment(fragment);
    }

    private void OnContinuation(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (_continuationStreamId == 0 || streamId != _continuationStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent CONTINUATION out of place");
        }

        AppendHeaderFragment(payload);
        if ((flags & Http2Frame.EndHeaders) == 0)
        {
            return;
        }

        _continuationStreamId = 0;
        OnHeaderBlock(streamId, _headerBlock.AsSpan(0, _headerBlockLength), _continuationEndStream);
        _headerBlockLength = 0;
    }

    private void OnHeaderBlock(int streamId, ReadOnlySpan<byte> block, bool endStream)
    {
        Http2ClientStream? stream;
        lock (_lock)
        {
            if (!_streams.TryGetValue(streamId, out stream) || stream.RemoteClosed)
            {
                ThrowIfIdle(streamId, "HEADERS");
                stream = null;
            }
            else
            {
                stream.AddHold();
            }
        }

        if (stream is null)
        {
            // The dynamic table must see every block, also of streams we are done with.
            _decoder.Decode(block, DiscardingSink.Instance);
            return;
        }

        try
        {
            stream.BeginHeaderBlock();
            if (!_decoder.Decode(block, stream))
            {
                Abandon(stream, StreamError($"the upstream's response headers exceed {MaxResponseHeaderListSize} bytes"), Http2ErrorCode.ProtocolError);
                return;
            }

            stream.EndHeaderBlock(endStream, out var malformed);
            if (malformed)
            {
                Abandon(stream, StreamError("the upstream sent a malformed response head"), Http2ErrorCode.ProtocolError);
                return;
            }

            if (endStream)
            {
                EndRemote(stream);
            }
        }
        finally
        {
            stream.Release();
        }
    }

    private void OnRstStream(int streamId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 4)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent RST_STREAM of the wrong size");
        }

        if (streamId == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent RST_STREAM on stream 0");
        }

        var code = (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(payload);
        Http2ClientStream? stream;
        lock (_lock)
        {
            if (!_streams.TryGetValue(streamId, out stream))
            {
                ThrowIfIdle(streamId, "RST_STREAM");
                return;
            }

            // The peer closed both directions: nothing more is sent, no reset goes back.
            stream.AddHold();
            stream.LocalClosed = true;
            stream.WindowWaiter?.TrySetResult();
            stream.WindowWaiter = null;
        }

        if (stream.RemoteClosed)
        {
            stream.CancelBody();
        }
        else if (code == Http2ErrorCode.RefusedStream)
        {
            stream.Fail(new UnprocessedRequestException("the upstream refused the stream (RefusedStream)", stream.BodyStarted));
        }
        else
        {
            var message = $"the upstream reset the stream ({code})";
            stream.Fail(new HttpRequestException(HttpRequestError.HttpProtocolError, message, new HttpProtocolException((long)code, message, null)));
        }

        CloseStream(stream);
        stream.Release();
    }

    private void OnSettings(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (streamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent SETTINGS on a stream");
        }

        if ((flags & Http2Frame.Ack) != 0)
        {
            if (payload.Length != 0)
            {
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent a SETTINGS acknowledgement with a payload");
            }

            return;
        }

        ApplySettings(payload);
        Pool.OnPeerStreamLimit(Volatile.Read(ref _maxConcurrentStreams));
        _firstSettings.TrySetResult();
        Kick();
    }

    private void ApplySettings(ReadOnlySpan<byte> payload)
    {
        if (payload.Length % 6 != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent SETTINGS of the wrong size");
        }

        lock (_lock)
        {
            for (var i = 0; i < payload.Length; i += 6)
            {
                var id = BinaryPrimitives.ReadUInt16BigEndian(payload[i..]);
                var value = BinaryPrimitives.ReadUInt32BigEndian(payload[(i + 2)..]);
                ApplySetting(id, value);
            }

            WriteFrame(Http2FrameType.Settings, Http2Frame.Ack, 0, []);
        }
    }

    // Under the lock.
    private void ApplySetting(ushort id, uint value)
    {
        switch (id)
        {
            case 0x3: // MAX_CONCURRENT_STREAMS
                _maxConcurrentStreams = (int)Math.Min(value, int.MaxValue);
                break;
            case 0x4: // INITIAL_WINDOW_SIZE
                if (value > Http2Frame.MaxWindowSize)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "the upstream's SETTINGS_INITIAL_WINDOW_SIZE is over 2^31-1");
                }

                var delta = (int)value - _peerInitialWindowSize;
                _peerInitialWindowSize = (int)value;
                foreach (var stream in _streams.Values)
                {
                    stream.SendWindow += delta;
                    if (stream.SendWindow > Http2Frame.MaxWindowSize)
                    {
                        throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "a stream's send window went over 2^31-1");
                    }

                    if (delta > 0)
                    {
                        WakeWindowWaiter(stream);
                    }
                }

                break;
            case 0x5: // MAX_FRAME_SIZE
                if (value is < Http2Frame.DefaultMaxFrameSize or > 16777215)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream's SETTINGS_MAX_FRAME_SIZE is out of range");
                }

                _peerMaxFrameSize = (int)value;
                break;
            default:
                // HEADER_TABLE_SIZE (we never index), ENABLE_PUSH, MAX_HEADER_LIST_SIZE (advisory), unknown.
                break;
        }
    }

    private void OnPing(byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 8)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent PING of the wrong size");
        }

        if (streamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent PING on a stream");
        }

        if ((flags & Http2Frame.Ack) != 0)
        {
            return;
        }

        lock (_lock)
        {
            WriteFrame(Http2FrameType.Ping, Http2Frame.Ack, 0, payload);
        }

        Kick();
    }

    private void OnGoAway(int streamId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 8 || streamId != 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent a malformed GOAWAY");
        }

        var lastStreamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffffu);
        var code = (Http2ErrorCode)BinaryPrimitives.ReadUInt32BigEndian(payload[4..]);
        List<Http2ClientStream>? unprocessed = null;
        bool closeNow;
        lock (_lock)
        {
            _goingAway = true;
            foreach (var stream in _streams.Values)
            {
                if (stream.Id > lastStreamId)
                {
                    stream.AddHold();
                    (unprocessed ??= []).Add(stream);
                }
            }

            closeNow = _activeStreams == (unprocessed?.Count ?? 0);
        }

        if (unprocessed is not null)
        {
            var message = $"the upstream went away ({code}) before it processed the request";
            foreach (var stream in unprocessed)
            {
                lock (_lock)
                {
                    stream.LocalClosed = true;
                    stream.WindowWaiter?.TrySetResult();
                    stream.WindowWaiter = null;
                }

                stream.Fail(new UnprocessedRequestException(message, stream.BodyStarted));
                CloseStream(stream);
                stream.Release();
            }
        }

        if (closeNow)
        {
            Close(new HttpRequestException(HttpRequestError.Unknown, $"the upstream went away ({code})"));
        }
    }

    private void OnWindowUpdate(int streamId, ReadOnlySpan<byte> payload)
    {
        if (payload.Length != 4)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, "the upstream sent WINDOW_UPDATE of the wrong size");
        }

        var increment = (int)(BinaryPrimitives.ReadUInt32BigEndian(payload) & 0x7fffffffu);
        Http2ClientStream? broken = null;
        lock (_lock)
        {
            if (streamId == 0)
            {
                if (increment == 0)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent a WINDOW_UPDATE of 0 for the connection");
                }

                _connectionSendWindow += increment;
                if (_connectionSendWindow > Http2Frame.MaxWindowSize)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, "the upstream grew the connection window over 2^31-1");
                }

                foreach (var stream in _streams.Values)
                {
                    WakeWindowWaiter(stream);
                }

                return;
            }

            if (!_streams.TryGetValue(streamId, out var target))
            {
                ThrowIfIdle(streamId, "WINDOW_UPDATE");
                return;
            }

            target.SendWindow += increment;
            if (increment == 0 || target.SendWindow > Http2Frame.MaxWindowSize)
            {
                broken = target;
            }
            else
            {
                WakeWindowWaiter(target);
            }
        }

        if (broken is not null)
        {
            Abandon(broken, StreamError("the upstream sent an invalid stream WINDOW_UPDATE"), Http2ErrorCode.FlowControlError);
        }
    }

    // Under the lock.
    private static void WakeWindowWaiter(Http2ClientStream stream)
    {
        if (stream.WindowWaiter is { } waiter)
        {
            stream.WindowWaiter = null;
            waiter.TrySetResult();
        }
    }

    // The remote side ended the stream; the stream leaves the table once our side is done too.
    private void EndRemote(Http2ClientStream stream)
    {
        stream.OnEndStream();
        bool close;
        lock (_lock)
        {
            close = stream.LocalClosed;
        }

        if (close)
        {
            CloseStream(stream);
        }
    }

    // Under the lock: credit for bytes nobody will read; true when a WINDOW_UPDATE was written.
    private bool CreditConnection(int count)
    {
        if (count <= 0)
        {
            return false;
        }

        _connectionUnacknowledged += count;
        if (_connectionUnacknowledged < ConnectionReceiveWindow / 2)
        {
            return false;
        }

        WriteWindowUpdate(0, _connectionUnacknowledged);
        _connectionReceiveWindow += _connectionUnacknowledged;
        _connectionUnacknowledged = 0;
        return true;
    }

    // Under the lock: a frame for a stream id we never opened is a connection error (RFC 9113 5.1).
    private void ThrowIfIdle(int streamId, string frame)
    {
        if (streamId >= _nextStreamId || (streamId & 1) == 0)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"the upstream sent {frame} on stream {streamId}, which was never opened");
        }
    }

    private void AppendHeaderFragment(ReadOnlySpan<byte> fragment)
    {
        var needed = _headerBlockLength + fragment.Length;
        if (needed > MaxHeaderBlockSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.EnhanceYourCalm, "the upstream's header block is too large");
        }

        if (_headerBlock is null || _headerBlock.Length < needed)
        {
            var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, 4096));
            if (_headerBlock is { } old)
            {
                old.AsSpan(0, _headerBlockLength).CopyTo(grown);
                ArrayPool<byte>.Shared.Return(old);
            }

            _headerBlock = grown;
        }

        fragment.CopyTo(_headerBlock.AsSpan(_headerBlockLength));
        _headerBlockLength = needed;
    }

    private static ReadOnlySpan<byte> RemovePadding(byte flags, ReadOnlySpan<byte> payload)
    {
        if ((flags & Http2Frame.Padded) == 0)
        {
            return payload;
        }

        if (payload.IsEmpty || payload[0] >= payload.Length)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, "the upstream sent padding longer than its frame");
        }

        return payload[1..^payload[0]];
    }

    private static HttpRequestException StreamError(string message) =>
        new(HttpRequestError.HttpProtocolError, message, new HttpProtocolException((long)Http2ErrorCode.ProtocolError, message, null));

    private sealed class DiscardingSink : IHPackHeaderSink
    {
        public static readonly DiscardingSink Instance = new();

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
        }
    }
}
