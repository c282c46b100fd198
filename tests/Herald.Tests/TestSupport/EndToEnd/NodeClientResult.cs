using System.Text.Json;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>What a Node client script printed (one JSON object) and how it exited.</summary>
public sealed record NodeClientResult(ProcessResult Process, JsonElement? Json)
{
    /// <summary>The script's own list of mismatches against the echo server's contract.</summary>
    public IReadOnlyList<string> Problems =>
        Json is { } json && json.TryGetProperty("problems", out var problems)
            ? problems.EnumerateArray().Select(p => p.GetString() ?? string.Empty).ToArray()
            : ["the client printed no JSON result"];

    /// <summary>The parsed result; throws with the transcript when the client printed none.</summary>
    public JsonElement Result => Json ?? throw new InvalidOperationException($"no JSON result:\n{Process}");

    public override string ToString() => Process.ToString();
}
