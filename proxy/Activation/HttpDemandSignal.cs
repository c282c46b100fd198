using System.Buffers;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Herald.Proxy.Observability;

namespace Herald.Proxy.Activation;

/// <summary>
/// POSTs each <see cref="DemandNotice"/> as JSON
/// (<c>{"cluster":"c","held":1,"oldest_wait_ms":0,"at":"2025-01-01T00:00:00+00:00"}</c>) to the
/// policy's webhook and control plane, one cluster per instance. Bounded per URL: one POST in
/// flight, and at most one more pending that later notices replace (the newest count is the one
/// that matters); each POST times out after <see cref="SendTimeout"/>. Failures are counted and
/// logged, never thrown at the caller.
/// </summary>
internal sealed class HttpDemandSignal : IDemandSignal, IDisposable
{
    public static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(5);

    private static readonly MediaTypeHeaderValue JsonType = new("application/json");

    private readonly Target[] _targets;
    private readonly ActivationStats _stats;
    private readonly TimeProvider _time;
    private readonly HttpMessageInvoker _invoker;
    private readonly bool _ownsInvoker;
    private volatile bool _disposed;

    /// <param name="invoker">Shared client; when null, the signal makes (and disposes) its own.</param>
    public HttpDemandSignal(ActivationPolicy policy, ActivationStats stats, TimeProvider time, HttpMessageInvoker? invoker = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(stats);
        ArgumentNullException.ThrowIfNull(time);
        policy.Validate();
        var targets = new List<Target>(2);
        if (policy.Webhook is { } webhook)
        {
            targets.Add(new Target(webhook));
        }

        if (policy.ControlPlane is { } controlPlane && controlPlane != policy.Webhook)
        {
            targets.Add(new Target(controlPlane));
        }

        _targets = [.. targets];
        _stats = stats;
        _time = time;
        _invoker = invoker ?? CreateInvoker();
        _ownsInvoker = invoker is null;
    }

    /// <summary>The URLs notices go to.</summary>
    public IReadOnlyList<Uri> Urls => Array.ConvertAll(_targets, static t => t.Url);

    public void Signal(DemandNotice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        foreach (var target in _targets)
        {
            lock (target.Lock)
            {
                if (_disposed)
                {
                    return;
                }

                if (target.Busy)
                {
                    target.Pending = notice;
                    _stats.DemandCoalesced.Increment();
                    continue;
                }

                target.Busy = true;

                // The timeout starts now, on the caller's clock; the POST itself runs on the pool
                // so that nothing (connect, DNS) happens on the request path.
                var timeout = new CancellationTokenSource(SendTimeout, _time);
                target.Loop = Task.Run(() => SendLoopAsync(target, notice, timeout));
            }
        }
    }

    /// <summary>Completes when no POST is in flight or pending (for tests and orderly shutdown).</summary>
    public Task WhenIdleAsync()
    {
        var loops = new List<Task>(_targets.Length);
        foreach (var target in _targets)
        {
            lock (target.Lock)
            {
                if (target.Loop is { } loop)
                {
                    loops.Add(loop);
                }
            }
        }

        return Task.WhenAll(loops);
    }

    public void Dispose()
    {
        _disposed = true;
        if (_ownsInvoker)
        {
            // Aborts POSTs in flight; their loops end quietly.
            _invoker.Dispose();
        }
    }

    /// <summary>The JSON body of a notice.</summary>
    internal static byte[] Encode(DemandNotice notice)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("cluster", notice.Cluster);
            json.WriteNumber("held", notice.Held);
            json.WriteNumber("oldest_wait_ms", (long)notice.OldestWait.TotalMilliseconds);
            json.WriteString("at", notice.At.ToUniversalTime());
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static HttpMessageInvoker CreateInvoker() => new(
        new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = SendTimeout,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            ActivityHeadersPropagator = null,
        },
        disposeHandler: true);

    private async Task SendLoopAsync(Target target, DemandNotice notice, CancellationTokenSource timeout)
    {
        while (true)
        {
            await SendOnceAsync(target.Url, notice, timeout).ConfigureAwait(false);
            lock (target.Lock)
            {
                if (target.Pending is not { } next || _disposed)
                {
                    target.Pending = null;
                    target.Busy = false;
                    return;
                }

                target.Pending = null;
                notice = next;
            }

            timeout = new CancellationTokenSource(SendTimeout, _time);
        }
    }

    private async Task SendOnceAsync(Uri url, DemandNotice notice, CancellationTokenSource timeout)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url)
            {
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
                Content = new ByteArrayContent(Encode(notice)),
            };
            request.Content.Headers.ContentType = JsonType;
            using var response = await _invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (response.IsSuccessStatusCode)
            {
                _stats.DemandSent.Increment();
                return;
            }

            _stats.DemandFailed.Increment();
            ProcessLog.Error(
                $"activation demand for cluster {notice.Cluster} to {url}",
                new HttpRequestException($"answered {(int)response.StatusCode}", null, response.StatusCode));
        }
        catch (Exception exception)
        {
            if (_disposed)
            {
                return;
            }

            _stats.DemandFailed.Increment();
            var cause = timeout.IsCancellationRequested
                ? new TimeoutException($"no answer within {SendTimeout.TotalSeconds} s", exception)
                : exception;
            ProcessLog.Error($"activation demand for cluster {notice.Cluster} to {url}", cause);
        }
        finally
        {
            timeout.Dispose();
        }
    }

    /// <summary>One URL: at most one POST in flight and one notice pending.</summary>
    private sealed class Target(Uri url)
    {
        public Uri Url { get; } = url;

        public Lock Lock { get; } = new();

        public bool Busy { get; set; }

        public DemandNotice? Pending { get; set; }

        public Task? Loop { get; set; }
    }
}
