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

    /// <summary>The result of a client script's run: its last stdout line, when that is a JSON object.</summary>
    public static NodeClientResult FromProcess(ProcessResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        JsonElement? json = null;
        var lastLine = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault();
        if (lastLine is not null && lastLine.StartsWith('{'))
        {
            try
            {
                json = JsonDocument.Parse(lastLine).RootElement.Clone();
            }
            catch (JsonException)
            {
                // Reported through Json being null.
            }
        }

        return new NodeClientResult(result, json);
    }
}
