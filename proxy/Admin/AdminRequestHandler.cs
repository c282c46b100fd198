using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Herald.Proxy.Admin;

/// <summary>Routes admin requests to their renderers; each endpoint answers with one buffered body.</summary>
internal sealed class AdminRequestHandler(AdminContext context, CancellationToken stopping)
{
    private const string TextPlain = "text/plain; charset=UTF-8";
    private const string Json = "application/json";

    private const string Help =
        "admin commands are:\n" +
        "  /clusters: upstream cluster status (?format=json)\n" +
        "  /config_dump: dump current Envoy configs\n" +
        "  /drain_listeners: drain listeners (POST; ?graceful, ?inboundonly)\n" +
        "  /healthcheck/fail: cause the server to fail health checks (POST)\n" +
        "  /healthcheck/ok: cause the server to pass health checks (POST)\n" +
        "  /quitquitquit: exit the server (POST)\n" +
        "  /ready: print server state, return 200 if LIVE, otherwise return 503\n" +
        "  /server_info: print server version/status information\n" +
        "  /stats: print server stats (?filter=REGEX, ?usedonly, ?format=json|prometheus)\n" +
        "  /stats/prometheus: print server stats in prometheus format (?filter=REGEX, ?usedonly)\n";

    private static readonly string[] PostOnly = ["/quitquitquit", "/drain_listeners", "/healthcheck/fail", "/healthcheck/ok"];

    public async Task HandleAsync(HttpContext http)
    {
        var request = http.Request;
        var path = request.Path.Value ?? "/";
        var isPost = HttpMethods.IsPost(request.Method);
        if (Array.IndexOf(PostOnly, path) >= 0)
        {
            if (!isPost)
            {
                await WriteAsync(http, StatusCodes.Status405MethodNotAllowed, TextPlain, "This endpoint requires POST\n");
                return;
            }
        }
        else if (!isPost && !HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            await WriteAsync(http, StatusCodes.Status405MethodNotAllowed, TextPlain, "Method not allowed\n");
            return;
        }

        try
        {
            switch (path)
            {
                case "/ready":
                    var state = State();
                    await WriteAsync(http, state == ServerState.Live ? 200 : 503, TextPlain, StateName(state) + "\n");
                    break;
                case "/healthcheck/fail":
                case "/healthcheck/ok":
                    await HealthCheckAsync(http, failed: path == "/healthcheck/fail");
                    break;
                case "/drain_listeners":
                    await DrainListenersAsync(http);
                    break;
                case "/stats":
                    await StatsAsync(http, prometheus: false);
                    break;
                case "/stats/prometheus":
                    await StatsAsync(http, prometheus: true);
                    break;
                case "/config_dump":
                    await WriteAsync(http, 200, Json, ConfigDumpRenderer.Render(context.ConfigDump()));
                    break;
                case "/clusters":
                    if (IsJson(request))
                    {
                        await WriteAsync(http, 200, Json, ClustersRenderer.RenderJson(context.Clusters()));
                    }
                    else
                    {
                        await WriteAsync(http, 200, TextPlain, ClustersRenderer.RenderText(context.Clusters()));
                    }

                    break;
                case "/server_info":
                    await WriteAsync(http, 200, Json, ServerInfo());
                    break;
                case "/quitquitquit":
                    await QuitAsync(http);
                    break;
                case "/help":
                    await WriteAsync(http, 200, TextPlain, Help);
                    break;
                default:
                    await WriteAsync(http, 404, TextPlain, "invalid path. " + Help);
                    break;
            }
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            await WriteAsync(http, 500, TextPlain, $"{path} failed: {e.Message}\n");
        }
    }

    private async Task StatsAsync(HttpContext http, bool prometheus)
    {
        var query = http.Request.Query;
        var format = query["format"].ToString();
        if (!prometheus && format.Length > 0 && format is not ("json" or "prometheus" or "text"))
        {
            await WriteAsync(http, 400, TextPlain, "usage: /stats?format=(json|prometheus|text)\n");
            return;
        }

        RuntimeStats.Refresh(context.Stats);
        var stats = StatsQuery.Create(query["filter"].ToString(), query.ContainsKey("usedonly"), out var error);
        if (stats is null)
        {
            await WriteAsync(http, 400, TextPlain, error!);
            return;
        }

        if (prometheus || format == "prometheus")
        {
            await WriteAsync(http, 200, PrometheusRenderer.ContentType, PrometheusRenderer.Render(context.Stats, stats));
        }
        else if (format == "json")
        {
            await WriteAsync(http, 200, Json, StatsTextRenderer.RenderJson(context.Stats, stats));
        }
        else
        {
            await WriteAsync(http, 200, TextPlain, StatsTextRenderer.RenderText(context.Stats, stats));
        }
    }

    private ServerState State() =>
        context.State is { } state ? state() : context.IsReady() ? ServerState.Live : ServerState.PreInitializing;

    private static string StateName(ServerState state) => state switch
    {
        ServerState.Live => "LIVE",
        ServerState.Draining => "DRAINING",
        ServerState.PreInitializing => "PRE_INITIALIZING",
        _ => "INITIALIZING",
    };

    private async Task HealthCheckAsync(HttpContext http, bool failed)
    {
        if (context.SetHealthCheckFailed is not { } set)
        {
            await WriteAsync(http, StatusCodes.Status501NotImplemented, TextPlain, "health check control is not available in this mode\n");
            return;
        }

        set(failed);
        await WriteAsync(http, 200, TextPlain, "OK\n");
    }

    // Herald drains gracefully with or without ?graceful (see docs/admin.md); the parameter is accepted for Envoy's tools.
    private async Task DrainListenersAsync(HttpContext http)
    {
        if (context.DrainListeners is not { } drain)
        {
            await WriteAsync(http, StatusCodes.Status501NotImplemented, TextPlain, "drain_listeners is not available in this mode\n");
            return;
        }

        await drain(http.Request.Query.ContainsKey("inboundonly"));
        await WriteAsync(http, 200, TextPlain, "OK\n");
    }

    private async Task QuitAsync(HttpContext http)
    {
        var onQuit = context.OnQuitQuitQuit;
        if (onQuit is null)
        {
            await WriteAsync(http, StatusCodes.Status501NotImplemented, TextPlain, "quitquitquit is not available in this mode\n");
            return;
        }

        await WriteAsync(http, 200, TextPlain, "OK\n");
        await http.Response.CompleteAsync();

        // Run apart from the request: shutting down stops this server, which waits for this request.
        _ = Task.Run(async () =>
        {
            try
            {
                await onQuit(stopping);
            }
            catch (Exception e)
            {
                await Console.Error.WriteLineAsync($"herald: quitquitquit failed: {e.Message}");
            }
        });
    }

    private byte[] ServerInfo()
    {
        var uptime = context.Time.GetUtcNow() - context.StartTime;
        var seconds = Math.Max(0, (long)uptime.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s";
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("version", "herald/" + (typeof(AdminRequestHandler).Assembly.GetName().Version?.ToString() ?? "0"));
            json.WriteString("state", StateName(State()));
            json.WriteString("uptime_current_epoch", seconds);
            json.WriteString("uptime_all_epochs", seconds);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    private static bool IsJson(HttpRequest request) => request.Query["format"].ToString() == "json";

    private static Task WriteAsync(HttpContext http, int status, string contentType, string body) =>
        WriteAsync(http, status, contentType, Encoding.UTF8.GetBytes(body));

    private static async Task WriteAsync(HttpContext http, int status, string contentType, byte[] body)
    {
        var response = http.Response;
        response.StatusCode = status;
        response.ContentType = contentType;
        response.ContentLength = body.Length;
        response.Headers.CacheControl = "no-cache, max-age=0";
        if (!HttpMethods.IsHead(http.Request.Method))
        {
            await response.Body.WriteAsync(body, http.RequestAborted);
        }
    }
}
