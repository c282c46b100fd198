using System.Buffers;
using System.IO.Pipelines;
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
            long consumed = 0;
            foreach (var segment in buffer)
            {
                consumed += framing.Consume(segment.Span);
                if (framing.IsFailed || framing.IsComplete)
                {
                    break;
                }
            }

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

    private async Task<BodyOutcome> RelayRequestBodyAsync(PipeWriter upstream)
    {
        try
        {
            if (_request.IsChunked)
            {
                var framing = new ChunkedFraming(MaxTrailerBytes);
                while (true)
                {
                    var result = await _input.ReadAsync().ConfigureAwait(false);
                    var buffer = result.Buffer;
                    if (result.IsCanceled)
                    {
                        _input.AdvanceTo(buffer.Start);
                        return BodyOutcome.DownstreamGone;
                    }

                    long consumed = 0;
                    foreach (var segment in buffer)
                    {
                        consumed += framing.Consume(segment.Span);
                        if (framing.IsFailed || framing.IsComplete)
                        {
                            break;
                        }
                    }

                    if (framing.IsFailed)
                    {
                        _input.AdvanceTo(buffer.End);
                        return BodyOutcome.Malformed;
                    }

                    var body = buffer.Slice(0, consumed);
                    Write(upstream, body);
                    _bytesReceived += consumed;
                    _input.AdvanceTo(body.End);
                    var flush = await upstream.FlushAsync().ConfigureAwait(false);
                    if (framing.IsComplete)
                    {
                        return BodyOutcome.Complete;
                    }

                    if (flush.IsCompleted)
                    {
                        return BodyOutcome.UpstreamGone;
                    }

                    if (result.IsCompleted)
                    {
                        return BodyOutcome.DownstreamGone;
                    }
                }
            }

            var remaining = _request.ContentLength;
            while (remaining > 0)
            {
                var result = await _input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                if (result.IsCanceled)
                {
                    _input.AdvanceTo(buffer.Start);
                    return BodyOutcome.DownstreamGone;
                }

                var take = Math.Min(buffer.Length, remaining);
                var body = buffer.Slice(0, take);
                Write(upstream, body);
                remaining -= take;
                _bytesReceived += take;
                _input.AdvanceTo(body.End);
                var flush = await upstream.FlushAsync().ConfigureAwait(false);
                if (remaining == 0)
                {
                    return BodyOutcome.Complete;
                }

                if (flush.IsCompleted)
                {
                    return BodyOutcome.UpstreamGone;
                }

                if (result.IsCompleted)
                {
                    return BodyOutcome.DownstreamGone;
                }
            }

            await upstream.FlushAsync().ConfigureAwait(false);
            return BodyOutcome.Complete;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException or InvalidOperationException)
        {
            return BodyOutcome.DownstreamGone;
        }
    }

    private async ValueTask<BodyOutcome> RelayResponseBodyAsync(Http1UpstreamConnection connection, Http1ResponseHead response, BodyFraming framing)
    {
        var input = connection.Input;
        try
        {
            switch (framing)
            {
                case BodyFraming.None:
                    return await FlushDownstreamAsync().ConfigureAwait(false);
                case BodyFraming.ContentLength:
                    {
                        var remaining = response.ContentLength;
                        while (true)
                        {
                            var result = await input.ReadAsync().ConfigureAwait(false);
                            var buffer = result.Buffer;
                            var take = Math.Min(buffer.Length, remaining);
                            var body = buffer.Slice(0, take);
                            Write(_output, body);
                            remaining -= take;
                            _bytesSent += take;
                            input.AdvanceTo(body.End);
                            var flush = await _output.FlushAsync().ConfigureAwait(false);
                            if (remaining == 0)
                            {
                                return BodyOutcome.Complete;
                            }

                            if (flush.IsCompleted)
                            {
                                return BodyOutcome.DownstreamGone;
                            }

                            if (result.IsCompleted || result.IsCanceled)
                            {
                                return BodyOutcome.UpstreamGone;
                            }
                        }
                    }

                case BodyFraming.Chunked:
                    {
                        var chunked = new ChunkedFraming(MaxTrailerBytes);
                        while (true)
                        {
                            var result = await input.ReadAsync().ConfigureAwait(false);
                            var buffer = result.Buffer;
                            long consumed = 0;
                            foreach (var segment in buffer)
                            {
                                consumed += chunked.Consume(segment.Span);
                                if (chunked.IsFailed || chunked.IsComplete)
                                {
                                    break;
                                }
                            }

                            var body = buffer.Slice(0, consumed);
                            Write(_output, body);
                            _bytesSent += consumed;
                            input.AdvanceTo(body.End);
                            if (chunked.IsFailed)
                            {
                                return BodyOutcome.Malformed;
                            }

                            var flush = await _output.FlushAsync().ConfigureAwait(false);
                            if (chunked.IsComplete)
                            {
                                return BodyOutcome.Complete;
                            }

                            if (flush.IsCompleted)
                            {
                                return BodyOutcome.DownstreamGone;
                            }

                            if (result.IsCompleted || result.IsCanceled)
                            {
                                return BodyOutcome.UpstreamGone;
                            }
                        }
                    }

                default:
                    while (true)
                    {
                        var result = await input.ReadAsync().ConfigureAwait(false);
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
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or Microsoft.AspNetCore.Connections.ConnectionResetException)
        {
            return BodyOutcome.UpstreamGone;
        }
    }

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
        var upstreamToDownstream = PumpAsync(connection.Input, _output);
        var downstreamToUpstream = PumpAsync(_input, connection.Output);
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

    private static async Task PumpAsync(PipeReader from, PipeWriter to)
    {
        try
        {
            while (true)
            {
                var result = await from.ReadAsync().ConfigureAwait(false);
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
