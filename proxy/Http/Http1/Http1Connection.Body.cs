using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Herald.Proxy.Async;
using Herald.Proxy.Http.Routing;
using Herald.Proxy.Upstream;

namespace Herald.Proxy.Http.Http1;

/// <summary>Body relays: bytes copied as they are, framing followed to find the end.</summary>
internal sealed partial class Http1Connection
{
    private const int MaxTrailerBytes = 60 * 1024;

    /// <summary>
    /// When the whole request body (or a framing error in it) is already buffered, relays or
    /// refuses it without an extra task; returns false when the async relay is needed.
    /// Nothing is consumed when it returns false.
    /// </summary>
    private bool TryRelayBufferedBody(PipeWriter upstream, out BodyOutcome outcome)
    {
        outcome = BodyOutcome.Complete;
        if (!_input.TryRead(out var result))
        {
            return false;
        }

        var buffer = result.Buffer;
        if (_request.IsChunked)
        {
            var framing = new ChunkedFraming(MaxTrailerBytes);
            var consumed = framing.Consume(buffer);
            if (framing.IsFailed)
            {
                _input.AdvanceTo(buffer.End);
                outcome = BodyOutcome.Malformed;
                return true;
            }

            if (!framing.IsComplete)
            {
                _input.AdvanceTo(buffer.Start);
                return false;
            }

            var body = buffer.Slice(0, consumed);
            Write(upstream, body);
            _bytesReceived += consumed;
            _input.AdvanceTo(body.End);
            return true;
        }

        var length = _request.ContentLength;
        if (buffer.Length < length)
        {
            _input.AdvanceTo(buffer.Start);
            return false;
        }

        var content = buffer.Slice(0, length);
        Write(upstream, content);
        _bytesReceived += length;
        _input.AdvanceTo(content.End);
        return true;
    }

    private Task<BodyOutcome> RelayRequestBodyAsync(PipeWriter upstream) =>
        RelayBodyAsync(_input, upstream, _request.IsChunked ? -1 : _request.ContentLength, fromDownstream: true).AsTask();

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyOutcome> RelayResponseBodyAsync(Http1UpstreamConnection connection, Http1ResponseHead response, BodyFraming framing)
    {
        switch (framing)
        {
            case BodyFraming.None:
                return await FlushDownstreamAsync().ConfigureAwait(false);
            case BodyFraming.ContentLength:
                return await RelayBodyAsync(connection.Input, _output, response.ContentLength, fromDownstream: false).ConfigureAwait(false);
            case BodyFraming.Chunked:
                return await RelayBodyAsync(connection.Input, _output, -1, fromDownstream: false).ConfigureAwait(false);
        }

        // Close-delimited: everything until the upstream closes.
        var input = connection.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync().ConfigureAwait(false);
                _streamGuard?.Touch();
                var buffer = result.Buffer;
                Write(_output, buffer);
                _bytesSent += buffer.Length;
                input.AdvanceTo(buffer.End);
                var flush = await _output.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return BodyOutcome.Complete;
                }

                if (flush.IsCompleted)
                {
                    return BodyOutcome.DownstreamGone;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return BodyOutcome.UpstreamGone;
        }
    }

    /// <summary>
    /// Relays one framed body (<paramref name="contentLength"/> bytes, or chunked when it is
    /// negative) verbatim, following the framing to find its end. A framing error relays
    /// nothing of the bad bytes.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyOutcome> RelayBodyAsync(PipeReader from, PipeWriter to, long contentLength, bool fromDownstream)
    {
        var chunked = contentLength < 0;
        var framing = new ChunkedFraming(MaxTrailerBytes);
        var remaining = contentLength;
        var readerGone = fromDownstream ? BodyOutcome.DownstreamGone : BodyOutcome.UpstreamGone;
        var writerGone = fromDownstream ? BodyOutcome.UpstreamGone : BodyOutcome.DownstreamGone;
        try
        {
            while (true)
            {
                var result = await from.ReadAsync().ConfigureAwait(false);
                _streamGuard?.Touch();
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    from.AdvanceTo(buffer.Start);
                    return readerGone;
                }

                var take = chunked ? framing.Consume(buffer) : Math.Min(buffer.Length, remaining);
                if (framing.IsFailed)
                {
                    from.AdvanceTo(buffer.End);
                    return BodyOutcome.Malformed;
                }

                var body = buffer.Slice(0, take);
                Write(to, body);
                if (fromDownstream)
                {
                    _bytesReceived += take;
                }
                else
                {
                    _bytesSent += take;
                }

                from.AdvanceTo(body.End);
                remaining -= take;
                var flush = await to.FlushAsync().ConfigureAwait(false);
                if (chunked ? framing.IsComplete : remaining == 0)
                {
                    return BodyOutcome.Complete;
                }

                if (flush.IsCompleted)
                {
                    return writerGone;
                }

                if (result.IsCompleted)
                {
                    return readerGone;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException or InvalidOperationException)
        {
            return readerGone;
        }
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<BodyOutcome> FlushDownstreamAsync()
    {
        var flush = await _output.FlushAsync().ConfigureAwait(false);
        return flush.IsCompleted ? BodyOutcome.DownstreamGone : BodyOutcome.Complete;
    }

    /// <summary>After a 101, both directions are plain bytes until either side closes.</summary>
    private async Task RelayUpgradedAsync(Http1UpstreamConnection connection, Http1ResponseHead response, Route route)
    {
        _ = route;
        _output.Write(response.Raw);
        await _output.FlushAsync().ConfigureAwait(false);
        var upstreamToDownstream = PumpAsync(connection.Input, _output, _streamGuard);
        var downstreamToUpstream = PumpAsync(_input, connection.Output, _streamGuard);
        var first = await Task.WhenAny(upstreamToDownstream, downstreamToUpstream).ConfigureAwait(false);
        if (first == upstreamToDownstream)
        {
            _input.CancelPendingRead();
        }
        else
        {
            connection.Input.CancelPendingRead();
        }

        await Task.WhenAll(upstreamToDownstream, downstreamToUpstream).ConfigureAwait(false);
    }

    private static async Task PumpAsync(PipeReader from, PipeWriter to, StreamTimeoutGuard? streamGuard)
    {
        try
        {
            while (true)
            {
                var result = await from.ReadAsync().ConfigureAwait(false);
                streamGuard?.Touch();
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    from.AdvanceTo(buffer.Start);
                    return;
                }

                Write(to, buffer);
                from.AdvanceTo(buffer.End);
                var flush = await to.FlushAsync().ConfigureAwait(false);
                if (result.IsCompleted || flush.IsCompleted)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException or InvalidOperationException)
        {
            // Either side went away; the upgrade is over.
        }
    }

    private static void Write(PipeWriter writer, in ReadOnlySequence<byte> data)
    {
        if (data.IsSingleSegment)
        {
            writer.Write(data.FirstSpan);
            return;
        }

        foreach (var segment in data)
        {
            writer.Write(segment.Span);
        }
    }
}
