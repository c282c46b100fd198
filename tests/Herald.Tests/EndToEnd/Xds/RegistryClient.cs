using System.Net.Http.Json;
using System.Text.Json;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>The control plane's registry API (<c>/v1/registry/instances</c>) over an HttpClient whose base address is the API.</summary>
internal static class RegistryClient
{
    /// <summary>A client of the registry API at 127.0.0.1:<paramref name="apiPort"/>.</summary>
    public static HttpClient Create(int apiPort) => new(new SocketsHttpHandler { UseProxy = false })
    {
        BaseAddress = new Uri($"http://127.0.0.1:{apiPort}/"),
        Timeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>PUT /v1/registry/instances; returns the instance id.</summary>
    public static async Task<string> RegisterAsync(HttpClient api, string service, int port, IReadOnlyDictionary<string, string> labels, string version, int ttlSeconds = 600)
    {
        var body = new { service, address = "127.0.0.1", port, labels, version, ttl_seconds = ttlSeconds };
        using var response = await api.PutAsJsonAsync("v1/registry/instances", body);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"register {service} 127.0.0.1:{port}: {(int)response.StatusCode} {text}");
        }

        return JsonDocument.Parse(text).RootElement.GetProperty("id").GetString()
            ?? throw new InvalidOperationException($"register answered no id: {text}");
    }

    /// <summary>DELETE /v1/registry/instances/{id}; throws unless 200.</summary>
    public static async Task DeregisterAsync(HttpClient api, string id)
    {
        using var response = await api.DeleteAsync($"v1/registry/instances/{Uri.EscapeDataString(id)}");
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"deregister {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }
}
