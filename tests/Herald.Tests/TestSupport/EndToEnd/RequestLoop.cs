using System.Collections.Concurrent;

namespace Herald.Tests.TestSupport.EndToEnd;

/// <summary>Sends many requests over a few keep-alive connections and tallies who answered.</summary>
public static class RequestLoop
{
    /// <summary>One answer: its status and the x-upstream header (which RecordingUpstream answered).</summary>
    public readonly record struct Answer(int Index, int Status, string? Upstream);

    /// <summary>
    /// Sends <paramref name="count"/> requests from <paramref name="concurrency"/> workers; request
    /// <c>i</c> is built by <paramref name="request"/>. Bounded by <paramref name="timeout"/>.
    /// </summary>
    public static async Task<IReadOnlyList<Answer>> RunAsync(
        HttpClient client, int count, int concurrency, Func<int, HttpRequestMessage> request, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var answers = new ConcurrentBag<Answer>();
        var next = -1;
        var workers = new Task[concurrency];
        for (var w = 0; w < concurrency; w++)
        {
            workers[w] = Task.Run(
                async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        using var message = request(i);
                        using var response = await client.SendAsync(message, cts.Token);
                        await response.Content.LoadIntoBufferAsync(cts.Token);
                        var upstream = response.Headers.TryGetValues("x-upstream", out var values) ? values.FirstOrDefault() : null;
                        answers.Add(new Answer(i, (int)response.StatusCode, upstream));
                    }
                },
                cts.Token);
        }

        await Task.WhenAll(workers);
        return [.. answers.OrderBy(a => a.Index)];
    }

    /// <summary>How many answers each upstream gave.</summary>
    public static Dictionary<string, int> CountByUpstream(IEnumerable<Answer> answers)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var answer in answers)
        {
            var key = answer.Upstream ?? "(none)";
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        return counts;
    }
}
