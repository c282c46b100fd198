using System.Globalization;
using System.Net;
using System.Text.Json;
using Herald.Xds.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Herald.Xds.ControlPlane;

/// <summary>
/// The registry's JSON API on a bare Kestrel server: register, heartbeat, deregister, list,
/// a blocking watch with an index (as Consul's), and the connected proxies' status.
/// </summary>
public sealed class RegistryApi : IAsyncDisposable
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DefaultTtl = TimeSpan.FromSeconds(30);
    private readonly KestrelServer _server;
    private readonly CancellationTokenSource _stopping;
    private int _disposed;

    private RegistryApi(KestrelServer server, CancellationTokenSource stopping, IPEndPoint bound)
    {
        _server = server;
        _stopping = stopping;
        BoundAddress = bound;
    }

    public IPEndPoint BoundAddress { get; }

    public static Task<RegistryApi> StartAsync(IPEndPoint address, IServiceRegistry registry, AdsServer ads, CancellationToken cancellationToken) =>
        StartAsync(address, registry, ads, new DemandLog(), cancellationToken);

    public static async Task<RegistryApi> StartAsync(IPEndPoint address, IServiceRegistry registry, AdsServer ads, DemandLog demand, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(demand);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(ads);
        var options = BareKestrel.CreateOptions();
        options.Limits.MaxRequestBodySize = 64 * 1024;
        options.Limits.MaxConcurrentConnections = 4096;
        ListenOptions? listen = null;
        options.Listen(address, l =>
        {
            l.Protocols = HttpProtocols.Http1;
            listen = l;
        });

        var server = BareKestrel.Create(options);
        var stopping = new CancellationTokenSource();
        try
        {
            await server.StartAsync(new Application(new Handler(registry, ads, demand, stopping.Token)), cancellationToken);
        }
        catch
        {
            server.Dispose();
            stopping.Dispose();
            throw;
        }

        return new RegistryApi(server, stopping, listen?.IPEndPoint ?? address);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await _server.StopAsync(timeout.Token);
        }

        _server.Dispose();
        _stopping.Dispose();
    }

    private sealed class Application(Handler handler) : IHttpApplication<HttpContext>
    {
        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public Task ProcessRequestAsync(HttpContext context) => handler.HandleAsync(context);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }
    }

    private sealed class Handler(IServiceRegistry registry, AdsServer ads, DemandLog demand, CancellationToken stopping)
    {
        private const string Prefix = "/v1/registry/";

        public async Task HandleAsync(HttpContext context)
        {
            var request = context.Request;
            var path = request.Path.Value ?? "/";
            var segments = path.Trim('/').Split('/');
            try
            {
                switch (request.Method, segments)
                {
                    case ("PUT", ["v1", "registry", "instances"]):
                        await RegisterAsync(context);
                        return;
                    case ("PUT", ["v1", "registry", "instances", var id, "heartbeat"]):
                        await (await registry.HeartbeatAsync(id, context.RequestAborted) ? Json(context, 200, new { id }) : Error(context, 404, $"no instance '{id}' (expired or deregistered): register again"));
                        return;
                    case ("DELETE", ["v1", "registry", "instances", var id]):
                        await (await registry.DeregisterAsync(id, context.RequestAborted) ? Json(context, 200, new { id }) : Error(context, 404, $"no instance '{id}'"));
                        return;
                    case ("GET", ["v1", "registry", "services"]):
                        var view = registry.View();
                        context.Response.Headers["X-Herald-Index"] = view.Index.ToString(CultureInfo.InvariantCulture);
                        await Json(context, 200, view.Services.Select(s => new { name = s, instances = view.InstancesOf(s).Count }));
                        return;
                    case ("GET", ["v1", "registry", "services", var name]):
                        await ServiceAsync(context, name);
                        return;
                    case ("POST", ["v1", "demand"]):
                        await DemandAsync(context);
                        return;
                    case ("GET", ["v1", "demand"]):
                        await Json(context, 200, demand.Snapshot().Select(d => new
                        {
                            cluster = d.Cluster,
                            held = d.Held,
                            oldest_wait_ms = (long)d.OldestWait.TotalMilliseconds,
                            at = d.At,
                            reporter = d.Reporter,
                            notices = d.Notices,
                        }));
                        return;
                    case ("GET", ["v1", "proxies"]):
                        await Json(context, 200, ads.Proxies.Select(p => new
                        {
                            node_id = p.NodeId,
                            node_cluster = p.NodeCluster,
                            protocol = p.Protocol,
                            connected_since = p.ConnectedSince,
                            acked_versions = p.AckedVersions,
                            last_nack = p.LastNack is { } n ? new { type_url = n.TypeUrl, version = n.Version, message = n.Message, at = n.At } : null,
                        }));
                        return;
                    default:
                        await Error(context, path.StartsWith(Prefix, StringComparison.Ordinal) || path.StartsWith("/v1/", StringComparison.Ordinal) ? 405 : 404, $"no route for {request.Method} {path}");
                        return;
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested || context.RequestAborted.IsCancellationRequested)
            {
            }
            catch (RegistryUnavailableException e) when (!context.Response.HasStarted)
            {
                await Error(context, 503, e.Message);
            }
        }

        // A data plane holding requests for a cluster with no endpoint says so (scale from zero).
        private async Task DemandAsync(HttpContext context)
        {
            string? cluster = null;
            var held = 0;
            long oldestWaitMs = 0;
            var at = DateTimeOffset.UtcNow;
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                var body = document.RootElement;
                if (body.ValueKind != JsonValueKind.Object)
                {
                    await Error(context, 400, "the body must be a JSON object");
                    return;
                }

                foreach (var property in body.EnumerateObject())
                {
                    switch (property.Name)
                    {
                        case "cluster" when property.Value.ValueKind == JsonValueKind.String:
                            cluster = property.Value.GetString();
                            break;
                        case "held" when property.Value.TryGetInt32(out var h) && h >= 0:
                            held = h;
                            break;
                        case "oldest_wait_ms" when property.Value.TryGetInt64(out var w) && w >= 0:
                            oldestWaitMs = w;
                            break;
                        case "at" when property.Value.TryGetDateTimeOffset(out var when):
                            at = when;
                            break;
                        default:
                            await Error(context, 400, $"'{property.Name}' is unknown or not of its type (cluster: string, held: count, oldest_wait_ms: count, at: ISO-8601 time)");
                            return;
                    }
                }
            }
            catch (JsonException e)
            {
                await Error(context, 400, $"the body is not JSON: {e.Message}");
                return;
            }

            if (string.IsNullOrEmpty(cluster))
            {
                await Error(context, 400, "'cluster' is required");
                return;
            }

            var reporter = context.Connection.RemoteIpAddress?.ToString();
            if (!demand.Record(cluster, held, TimeSpan.FromMilliseconds(oldestWaitMs), at, reporter))
            {
                await Error(context, 429, $"the demand log holds {DemandLog.MaxClusters} clusters already");
                return;
            }

            await Json(context, 202, new { cluster });
        }

        private async Task RegisterAsync(HttpContext context)
        {
            JsonElement body;
            try
            {
                using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
                body = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                await Error(context, 400, $"the body is not JSON: {e.Message}");
                return;
            }

            if (body.ValueKind != JsonValueKind.Object)
            {
                await Error(context, 400, "the body must be a JSON object");
                return;
            }

            string? Fail(string field, string problem) => $"{field}: {problem}";
            string? problem = null;
            string? service = null, address = null, version = null;
            var port = 0;
            Dictionary<string, string>? labels = null;
            TimeSpan? ttl = DefaultTtl;
            foreach (var property in body.EnumerateObject())
            {
                var v = property.Value;
                switch (property.Name)
                {
                    case "service":
                        service = v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s ? s : null;
                        problem ??= service is null ? Fail("service", "a non-empty string is required") : null;
                        break;
                    case "address":
                        address = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                        problem ??= address is null || !IPAddress.TryParse(address, out _) ? Fail("address", "an IP address is required") : null;
                        break;
                    case "port":
                        problem ??= v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out port) || port is < 1 or > 65535 ? Fail("port", "a number from 1 to 65535 is required") : null;
                        break;
                    case "version":
                        version = v.ValueKind == JsonValueKind.String ? v.GetString() : null;
                        problem ??= version is null || !SemVersion.TryParse(version, out _) ? Fail("version", "a semantic version string such as \"1.4.2\" is required") : null;
                        break;
                    case "ttl_seconds":
                        problem ??= v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var seconds) || seconds <= 0 || seconds > 86400
                            ? Fail("ttl_seconds", "a number of seconds above 0 (at most 86400) is required")
                            : null;
                        if (problem is null)
                        {
                            ttl = TimeSpan.FromSeconds(v.GetDouble());
                        }

                        break;
                    case "labels":
                        if (v.ValueKind != JsonValueKind.Object)
                        {
                            problem ??= Fail("labels", "an object of string values is required");
                            break;
                        }

                        labels = [];
                        foreach (var label in v.EnumerateObject())
                        {
                            if (label.Value.ValueKind != JsonValueKind.String)
                            {
                                problem ??= Fail($"labels.{label.Name}", "a string value is required");
                                continue;
                            }

                            labels[label.Name] = label.Value.GetString()!;
                        }

                        break;
                    default:
                        problem ??= Fail(property.Name, "unknown field; expected service, address, port, labels, version, ttl_seconds");
                        break;
                }
            }

            problem ??= service is null ? Fail("service", "is required") : address is null ? Fail("address", "is required") : port == 0 ? Fail("port", "is required") : null;
            if (problem is not null)
            {
                await Error(context, 400, problem);
                return;
            }

            var id = await registry.RegisterAsync(service!, address!, port, labels, version, ttl, context.RequestAborted);
            context.Response.Headers["X-Herald-Index"] = registry.Index.ToString(CultureInfo.InvariantCulture);
            await Json(context, 200, new { id });
        }

        private async Task ServiceAsync(HttpContext context, string name)
        {
            var query = context.Request.Query;
            RegistryView view;
            if (query.TryGetValue("index", out var indexText))
            {
                if (!long.TryParse(indexText, NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    await Error(context, 400, "index: a whole number is required");
                    return;
                }

                var wait = TimeSpan.FromMinutes(1);
                if (query.TryGetValue("wait", out var waitText) && !(MeshConfigLoader.TryDuration(waitText.ToString(), out wait) && wait >= TimeSpan.Zero))
                {
                    await Error(context, 400, "wait: a duration such as 30s is required");
                    return;
                }

                wait = wait > MaxWait ? MaxWait : wait;
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping);

                // The index is registry-wide, as Consul's is per service: a change elsewhere may wake the watch early.
                view = await registry.WaitForChangeAsync(index, wait, cts.Token);
            }
            else
            {
                view = registry.View();
            }

            context.Response.Headers["X-Herald-Index"] = view.Index.ToString(CultureInfo.InvariantCulture);
            await Json(context, 200, new
            {
                name,
                index = view.Index,
                instances = view.InstancesOf(name).Select(i => new
                {
                    id = i.Id,
                    address = i.Address,
                    port = i.Port,
                    labels = i.Labels,
                    version = i.Version,
                    ttl_seconds = i.Ttl?.TotalSeconds,
                    expires_at = i.ExpiresAt,
                    source = i.Source,
                }),
            });
        }

        private static Task Error(HttpContext context, int status, string message) => Json(context, status, new { error = message });

        private static async Task Json<T>(HttpContext context, int status, T value)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            await JsonSerializer.SerializeAsync(context.Response.Body, value, cancellationToken: context.RequestAborted);
        }
    }
}
