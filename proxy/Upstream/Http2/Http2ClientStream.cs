using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Threading.Tasks.Sources;

namespace Herald.Proxy.Upstream.Http2;

/// <summary>
/// One request/response exchange on an <see cref="Http2ClientConnection"/>. The connection's
/// read loop fills it (response head, body, trailers, reset); the forwarder awaits the head
/// and reads the body. Reused: it goes back to the pool when its last hold is dropped (the
/// wire side's, the consumer's, the request body sender's, and the read loop's while it hands
/// the stream a frame).
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "Pooled for the life of the process; its token source is reset, not disposed, between exchanges.")]
internal sealed class Http2ClientStream : IValueTaskSource<HttpResponseMessage>, IHPackHeaderSink
{
    private static readonly PipeOptions BodyPipeOptions = new(
        pauseWriterThreshold: 0,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        useSynchronizationContext: false);

    private readonly Pipe _body = new(BodyPipeOptions);
    private ManualResetValueTaskSourceCore<HttpResponseMessage> _head;
    private CancellationTokenSource _bodyCancellation = new();
    private HttpRequestMessage? _request;
    private HttpResponseMessage? _response;
    private HeaderPhase _phase;
    private int _status;
    private int _headCompleted;
    private IOException? _bodyError;
    private int _holds;

    private enum HeaderPhase
    {
        Head,
        Trailers,
    }

    public Http2ClientStream()
    {
        _head.RunContinuationsAsynchronously = false;
    }

    public Http2ClientConnection Connection { get; private set; } = null!;

    public int Id { get; set; }

    /// <summary>What the peer lets us send on this stream (under the connection's lock).</summary>
    public long SendWindow { get; set; }

    /// <summary>Bytes of DATA the peer may still send before our next WINDOW_UPDATE (read loop only).</summary>
    public int ReceiveWindow { get; set; }

    /// <summary>Body bytes read by the consumer and not yet given back in a WINDOW_UPDATE (under the connection's lock).</summary>
    public int UnacknowledgedBytes { get; set; }

    /// <summary>END_STREAM or RST_STREAM received, or the stream abandoned: the read loop ignores its frames.</summary>
    public bool RemoteClosed { get; set; }

    /// <summary>Our END_STREAM or RST_STREAM is written: nothing more is sent on it.</summary>
    public bool LocalClosed { get; set; }

    /// <summary>True until the response head arrived: an error then fails SendAsync rather than the body.</summary>
    public bool AwaitingHead => Volatile.Read(ref _headCompleted) == 0;

    /// <summary>Why the body ended early (reset, connection lost): reads throw it.</summary>
    public IOException? BodyError => Volatile.Read(ref _bodyError);

    /// <summary>Body bytes handed to the consumer's pipe, and read from it (under the connection's lock): the rest is credited back when the response is dropped.</summary>
    public long DeliveredBytes { get; set; }

    public long ConsumedBytes { get; set; }

    /// <summary>The request body sender started (its bytes may be gone from the client's stream): the request cannot be sent again.</summary>
    public bool BodyStarted { get; set; }

    /// <summary>Where this stream's last DATA frame starts in the pending frames, if they are still of <see cref="LastDataFrameGeneration"/>.</summary>
    public int LastDataFrameOffset { get; set; } = -1;

    public long LastDataFrameGeneration { get; set; } = -1;

    /// <summary>Waiting for send window (connection's lock).</summary>
    public TaskCompletionSource? WindowWaiter { get; set; }

    public CancellationToken BodyCancellation => _bodyCancellation.Token;

    public PipeReader BodyReader => _body.Reader;

    public short Version => _head.Version;

    public void Start(Http2ClientConnection connection, HttpRequestMessage request)
    {
        Connection = connection;
        _request = request;
        _holds = 2;
    }

    // The read loop decodes a header block into the stream.
    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (_phase == HeaderPhase.Trailers)
        {
            if (name.Length > 0 && name[0] != (byte)':' && _response is not null)
            {
                var trailerName = Connection.HeaderStrings.Name(name);
                _response.TrailingHeaders.TryAddWithoutValidation(trailerName, Connection.HeaderStrings.Value(trailerName, value));
            }

            return;
        }

        if (name.SequenceEqual(":status"u8))
        {
            _status = ParseStatus(value);
            return;
        }

        if (name.Length == 0 || name[0] == (byte)':')
        {
            return;
        }

        var response = _response ??= NewResponse();
        var nameText = Connection.HeaderStrings.Name(name);
        var valueText = Connection.HeaderStrings.Value(nameText, value);
        if (!response.Headers.TryAddWithoutValidation(nameText, valueText))
        {
            response.Content.Headers.TryAddWithoutValidation(nameText, valueText);
        }
    }

    /// <summary>Before a header block is decoded: informational heads are dropped, trailers go to their own collection.</summary>
    public void BeginHeaderBlock()
    {
        if (Volatile.Read(ref _headCompleted) != 0)
        {
            _phase = HeaderPhase.Trailers;
            return;
        }

        _status = 0;
        if (_response is not null)
        {
            // A 1xx head came before: its fields do not belong to the final response.
            _response.Headers.Clear();
            _response.Content.Headers.Clear();
        }
    }

    /// <summary>After a header block: true when it was a final response head (or trailers) and is delivered.</summary>
    public bool EndHeaderBlock(bool endStream, out bool malformed)
    {
        malformed = false;
        if (_phase == HeaderPhase.Trailers)
        {
            // Trailers end the stream; a second block without END_STREAM is malformed.
            malformed = !endStream;
            return true;
        }

        if (_status is < 100 or > 999)
        {
            malformed = true;
            return false;
        }

        if (_status < 200)
        {
            // 1xx: a final head follows; END_STREAM on one is malformed.
            malformed = endStream;
            return false;
        }

        var response = _response ??= NewResponse();
        response.StatusCode = (HttpStatusCode)_status;

        // A cancellation may fail the head at the same moment: exactly one of them completes it.
        if (Interlocked.Exchange(ref _headCompleted, 1) == 0)
        {
            _head.SetResult(response);
        }

        return true;
    }

    /// <summary>A DATA payload for the consumer (read loop).</summary>
    public void OnData(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return;
        }

        _body.Writer.Write(data);

        // The pipe never pauses its writer (flow control bounds it), so this completes at once.
        var flush = _body.Writer.FlushAsync();
        if (flush.IsCompleted)
        {
            _ = flush.GetAwaiter().GetResult();
        }
        else
        {
            _ = flush.AsTask();
        }
    }

    /// <summary>END_STREAM arrived: the body (and trailers) are complete.</summary>
    public void OnEndStream()
    {
        RemoteClosed = true;
        _body.Writer.Complete();
    }

    /// <summary>
    /// The exchange failed (reset, connection error, cancellation): SendAsync throws
    /// <paramref name="error"/> if the head has not come yet, the body read fails after it.
    /// Any thread may call it: the body pipe's writer stays the read loop's, so the consumer
    /// is woken by cancelling its read instead.
    /// </summary>
    public void Fail(Exception error)
    {
        RemoteClosed = true;
        Volatile.Write(ref _bodyError, error as IOException ?? new IOException(error.Message, error));
        if (Interlocked.Exchange(ref _headCompleted, 1) == 0)
        {
            _head.SetException(error);
        }

        _body.Reader.CancelPendingRead();
        CancelBody();
    }

    /// <summary>One more hold: the request body sender's until it is done, the read loop's while it hands the stream a frame.</summary>
    public void AddHold() => Interlocked.Increment(ref _holds);

    /// <summary>Stops the request body sender (the response ended or the stream was reset).</summary>
    public void CancelBody()
    {
        try
        {
            _bodyCancellation.Cancel();
        }
        catch (AggregateException)
        {
            // A body sender's callback failed; the stream is over anyway.
        }
    }

    /// <summary>Drops a hold (the wire side's, the consumer's, or one added by <see cref="AddHold"/>); the last one recycles the stream.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _holds) != 0)
        {
            return;
        }

        var connection = Connection;
        _body.Writer.Complete();
        _body.Reader.Complete();
        Reset();
        connection.Pool.ReturnStream(this);
    }

    public HttpResponseMessage GetResult(short token) => _head.GetResult(token);

    public ValueTaskSourceStatus GetStatus(short token) => _head.GetStatus(token);

    public void OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _head.OnCompleted(continuation, state, token, flags);

    private HttpResponseMessage NewResponse()
    {
        var response = new HttpResponseMessage
        {
            Version = HttpVersion.Version20,
            RequestMessage = _request,
        };
        response.Content = new Http2ResponseContent(this);
        return response;
    }

    private void Reset()
    {
        _head.Reset();
        _body.Reset();
        if (!_bodyCancellation.TryReset())
        {
            _bodyCancellation.Dispose();
            _bodyCancellation = new CancellationTokenSource();
        }

        _request = null;
        _response = null;
        _phase = HeaderPhase.Head;
        _status = 0;
        _headCompleted = 0;
        _bodyError = null;
        DeliveredBytes = 0;
        ConsumedBytes = 0;
        BodyStarted = false;
        RemoteClosed = false;
        LocalClosed = false;
        WindowWaiter = null;
        UnacknowledgedBytes = 0;
        Id = 0;
        Connection = null!;
    }

    private static int ParseStatus(ReadOnlySpan<byte> value)
    {
        if (value.Length != 3)
        {
            return 0;
        }

        var status = 0;
        foreach (var b in value)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return 0;
            }

            status = (status * 10) + (b - '0');
        }

        return status;
    }
}
