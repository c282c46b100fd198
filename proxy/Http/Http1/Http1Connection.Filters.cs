using Herald.Proxy.Http.Filters;
using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http.Http1;

/// <summary>The HCM's HTTP filters (local rate limit, fault) before the route's action.</summary>
internal sealed partial class Http1Connection
{
    /// <returns>Null to go on with the route; otherwise whether the connection stays open after the filter's reply.</returns>
    private async ValueTask<bool?> RunHttpFiltersAsync(HttpFilterChain filters, Route? route)
    {
        var reply = await filters.RunAsync(_request, route, _time, _connectionClosed).ConfigureAwait(false);
        if (reply is null)
        {
            return null;
        }

        _responseFlags = reply.ResponseFlag;
        if (reply.IsClientGone)
        {
            return false;
        }

        return await WriteLocalReplyAsync(reply.Status, reply.Body, CanKeepAliveAfterLocalReply(), reply.Headers).ConfigureAwait(false);
    }
}
