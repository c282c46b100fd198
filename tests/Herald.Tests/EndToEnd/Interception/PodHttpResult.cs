using System.Text.Json;
using Herald.Tests.TestSupport.EndToEnd;

namespace Herald.Tests.EndToEnd.Interception;

/// <summary>What curl in a pod got from pod-server.js's HTTP echo: status, HTTP version and the echoed request.</summary>
internal sealed record PodHttpResult(ProcessResult Process, int Status, string HttpVersion, JsonElement? Echo)
{
    /// <summary>The echoed request as the application saw it; throws with curl's transcript when there is none.</summary>
    public JsonElement Request => Echo ?? throw new InvalidOperationException($"no JSON echo in the response:\n{Process}");

    /// <summary>A request header the application received (names are lower case), or null.</summary>
    public string? Header(string name) =>
        Request.GetProperty("headers").TryGetProperty(name, out var value) ? value.GetString() : null;

    /// <summary>The peer address of the application's connection.</summary>
    public string? RemoteAddress => Request.GetProperty("remoteAddress").GetString();

    public string? Path => Request.GetProperty("path").GetString();

    public override string ToString() => $"status {Status}, HTTP/{HttpVersion}\n{Process}";
}
