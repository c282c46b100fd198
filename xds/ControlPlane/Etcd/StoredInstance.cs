using System.Text.Json.Serialization;

namespace Herald.Xds.ControlPlane.Etcd;

/// <summary>An instance as it is written to etcd (JSON, snake_case); the key carries its id.</summary>
internal sealed class StoredInstance
{
    [JsonPropertyName("service")]
    public string? Service { get; set; }

    [JsonPropertyName("address")]
    public string? Address { get; set; }

    [JsonPropertyName("port")]
    public int Port { get; set; }

    [JsonPropertyName("labels")]
    public SortedDictionary<string, string>? Labels { get; set; }

    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("ttl_seconds")]
    public double? TtlSeconds { get; set; }

    [JsonPropertyName("registered_at")]
    public DateTimeOffset RegisteredAt { get; set; }
}

[JsonSerializable(typeof(StoredInstance))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
internal sealed partial class StoredInstanceJson : JsonSerializerContext;
