using Xunit;

namespace Herald.Tests.EndToEnd.Xds;

/// <summary>GETs over keep-alive connections, counting answers and failures (status or exception) without stopping.</summary>
internal sealed class TrafficLoop(HttpClient http, string url)
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _lock = new();
    private readonly List<string> _errors = [];
    private int _count;
    private int _succeeded;
    private int _failed;

    public int Count => Volatile.Read(ref _count);

    public void Stop() => _stop.Cancel();

    public async Task WaitForCountAsync(int count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (Count < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the request loop did not reach {count} requests within {timeout}");
            await Task.Delay(5);
        }
    }

    public async Task<TrafficResult> RunAsync(int count, int concurrency, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        var next = -1;
        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested && !deadline.IsCancellationRequested && Interlocked.Increment(ref next) < count)
            {
                try
                {
                    using var response = await http.GetAsync(url, deadline.Token);
                    await response.Content.LoadIntoBufferAsync(deadline.Token);
                    if ((int)response.StatusCode == 200)
                    {
                        Interlocked.Increment(ref _succeeded);
                    }
                    else
                    {
                        Fail($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
                {
                    Fail($"{e.GetType().Name}: {e.Message}");
                }

                Interlocked.Increment(ref _count);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        lock (_lock)
        {
            return new TrafficResult(_succeeded, _failed, [.. _errors]);
        }
    }

    private void Fail(string error)
    {
        Interlocked.Increment(ref _failed);
        lock (_lock)
        {
            if (_errors.Count < 5 && !_errors.Contains(error))
            {
                _errors.Add(error);
            }
        }
    }

    public static async Task WaitUntilAllOkAsync(HttpClient http, string url, Func<string> context)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var result = await new TrafficLoop(http, url).RunAsync(20, 2, TimeSpan.FromSeconds(30));
            if (result.Failed == 0)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the gateway did not serve {url} within 20 s: {result}\n{context()}");
            await Task.Delay(100);
        }
    }
}

/// <summary>How a traffic loop went: answers, failures, and the first few distinct errors.</summary>
internal sealed record TrafficResult(int Succeeded, int Failed, IReadOnlyList<string> Errors)
{
    public override string ToString() =>
        $"{Succeeded} succeeded, {Failed} failed{(Errors.Count > 0 ? $" ({string.Join("; ", Errors)})" : string.Empty)}";
}
