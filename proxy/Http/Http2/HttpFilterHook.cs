using Herald.Proxy.Http.Filters;
using Herald.Proxy.Http.Routing;
using Microsoft.AspNetCore.Http;

namespace Herald.Proxy.Http.Http2;

/// <summary>Runs the HCM's HTTP filters for a request Kestrel parsed and writes a filter's reply.</summary>
internal static class HttpFilterHook
{
    /// <returns>Null to go on with the route; otherwise the response flag of the filter's reply.</returns>
    public static async Task<string?> RunAsync(HttpContext context, HttpFilterChain filters, IRequestHead head, Route? route, TimeProvider time)
    {
        var reply = await filters.RunAsync(head, route, time, context.RequestAborted).ConfigureAwait(false);
        if (reply is null)
        {
            return null;
        }

        if (reply.IsClientGone)
        {
            context.Abort();
            return reply.ResponseFlag;
        }

        return await WriteReplyAsync(context, reply).ConfigureAwait(false);
    }

    /// <summary>Writes a local reply (the gRPC form is already chosen); resets the stream if the response started.</summary>
    public static async Task<string> WriteReplyAsync(HttpContext context, FilterReply reply)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return reply.ResponseFlag;
        }

        response.StatusCode = reply.Status;
        var headers = response.Headers;
        foreach (var removed in reply.Headers.Remove)
        {
            headers.Remove(removed);
        }

        foreach (var added in reply.Headers.Add)
        {
            var exists = headers.ContainsKey(added.Name);
            switch (added.Action)
            {
                case HeaderAppendAction.AddIfAbsent when exists:
                case HeaderAppendAction.OverwriteIfExists when !exists:
                    continue;
                case HeaderAppendAction.OverwriteIfExists:
                case HeaderAppendAction.OverwriteIfExistsOrAdd:
                    headers[added.Name] = added.Value;
                    break;
                default:
                    headers.Append(added.Name, added.Value);
                    break;
            }
        }

        response.ContentLength = reply.Body.Length;
        if (reply.Body.Length > 0)
        {
            if (!headers.ContainsKey("content-type"))
            {
                response.ContentType = "text/plain";
            }

            try
            {
                await response.Body.WriteAsync(reply.Body, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return "DC";
            }
        }

        return reply.ResponseFlag;
    }
}
