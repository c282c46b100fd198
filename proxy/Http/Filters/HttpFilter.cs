using Herald.Proxy.Http.Routing;

namespace Herald.Proxy.Http.Filters;

/// <summary>One decoding HTTP filter before the router: lets the request go on (null) or answers it.</summary>
internal abstract class HttpFilter
{
    /// <summary>The filter's name in http_filters.</summary>
    public abstract string Name { get; }

    /// <param name="route">The matched route, or null when none matched (the router answers 404 afterwards).</param>
    /// <returns>Null to continue; otherwise the reply (or <see cref="FilterReply.ClientGone"/>).</returns>
    public abstract ValueTask<FilterReply?> OnRequestAsync(IRequestHead request, Route? route, TimeProvider time, CancellationToken aborted);
}
