using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http.Filters;

/// <summary>
/// The HTTP filters of one connection manager before its router, in configured order. The
/// manager holds null when there are none, so a plain HCM pays one null check per request.
/// </summary>
internal sealed class HttpFilterChain
{
    private readonly HttpFilter[] _filters;

    public HttpFilterChain(IReadOnlyList<HttpFilter> filters)
    {
        _filters = [.. filters];
    }

    public IReadOnlyList<HttpFilter> Filters => _filters;

    /// <summary>Runs each filter in order; the first reply ends the chain (already in its gRPC form when the request is gRPC).</summary>
    public ValueTask<FilterReply?> RunAsync(IRequestHead request, Route? route, TimeProvider time, CancellationToken aborted)
    {
        for (var i = 0; i < _filters.Length; i++)
        {
            var pending = _filters[i].OnRequestAsync(request, route, time, aborted);
            if (!pending.IsCompletedSuccessfully)
            {
                return ContinueAsync(pending, i, request, route, time, aborted);
            }

            if (pending.Result is { } reply)
            {
                return new ValueTask<FilterReply?>(Final(reply, request));
            }
        }

        return default;
    }

    private async ValueTask<FilterReply?> ContinueAsync(ValueTask<FilterReply?> pending, int index, IRequestHead request, Route? route, TimeProvider time, CancellationToken aborted)
    {
        var reply = await pending.ConfigureAwait(false);
        if (reply is not null)
        {
            return Final(reply, request);
        }

        for (var i = index + 1; i < _filters.Length; i++)
        {
            reply = await _filters[i].OnRequestAsync(request, route, time, aborted).ConfigureAwait(false);
            if (reply is not null)
            {
                return Final(reply, request);
            }
        }

        return null;
    }

    private static FilterReply Final(FilterReply reply, IRequestHead request) =>
        reply.IsClientGone ? reply : reply.For(request);
}
