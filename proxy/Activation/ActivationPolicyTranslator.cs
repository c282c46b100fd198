using Google.Protobuf.WellKnownTypes;
using Herald.Proxy.Config;
using Herald.Xds.ControlPlane;

namespace Herald.Proxy.Activation;

/// <summary>
/// Reads a cluster's activation policy from <c>metadata.filter_metadata["herald.activation"]</c>:
/// <c>hold_timeout</c> (a duration string such as "30s"), <c>queue_depth</c>,
/// <c>endpoint_concurrency</c>, <c>webhook</c> and <c>control_plane</c> (http URLs).
/// Other filter_metadata keys belong to other filters and are left alone.
/// </summary>
internal static class ActivationPolicyTranslator
{
    public const string MetadataKey = "herald.activation";

    public const int MaxQueueDepth = 1_000_000;

    public static ActivationPolicy? Translate(Envoy.Config.Core.V3.Metadata? metadata, string path)
    {
        if (metadata is null)
        {
            return null;
        }

        FieldPolicy.RequireOnly(metadata, path, "filter_metadata", "typed_filter_metadata");
        if (!metadata.FilterMetadata.TryGetValue(MetadataKey, out var policy))
        {
            return null;
        }

        var policyPath = $"{FieldPolicy.Join(path, "filter_metadata")}[\"{MetadataKey}\"]";
        var holdTimeout = TimeSpan.FromSeconds(30);
        var queueDepth = 10_000;
        var concurrency = 0;
        Uri? webhook = null;
        Uri? controlPlane = null;
        foreach (var (key, value) in policy.Fields)
        {
            var fieldPath = $"{policyPath}.{key}";
            switch (key)
            {
                case "hold_timeout":
                    if (value.KindCase != Value.KindOneofCase.StringValue
                        || !MeshConfigLoader.TryDuration(value.StringValue, out holdTimeout)
                        || holdTimeout <= TimeSpan.Zero
                        || holdTimeout > TimeSpan.FromHours(1))
                    {
                        throw new ConfigException(fieldPath, $"'{value}' is not a hold timeout", "Use a duration string from 1ms to 1h, such as \"30s\"");
                    }

                    break;
                case "queue_depth":
                    queueDepth = WholeNumber(value, fieldPath, 1, MaxQueueDepth);
                    break;
                case "endpoint_concurrency":
                    concurrency = WholeNumber(value, fieldPath, 0, 1_000_000);
                    break;
                case "webhook":
                    webhook = HttpUrl(value, fieldPath);
                    break;
                case "control_plane":
                    controlPlane = HttpUrl(value, fieldPath);
                    break;
                default:
                    throw new ConfigException(
                        fieldPath,
                        $"unknown activation setting '{key}'",
                        "Use hold_timeout, queue_depth, endpoint_concurrency, webhook or control_plane");
            }
        }

        return new ActivationPolicy
        {
            HoldTimeout = holdTimeout,
            QueueDepth = queueDepth,
            EndpointConcurrency = concurrency,
            Webhook = webhook,
            ControlPlane = controlPlane,
        };
    }

    private static int WholeNumber(Value value, string path, int minimum, int maximum)
    {
        if (value.KindCase != Value.KindOneofCase.NumberValue
            || value.NumberValue != Math.Floor(value.NumberValue)
            || value.NumberValue < minimum
            || value.NumberValue > maximum)
        {
            throw new ConfigException(path, $"'{value}' is not a whole number from {minimum} to {maximum}", $"Use a number from {minimum} to {maximum}");
        }

        return (int)value.NumberValue;
    }

    private static Uri HttpUrl(Value value, string path)
    {
        if (value.KindCase != Value.KindOneofCase.StringValue
            || !Uri.TryCreate(value.StringValue, UriKind.Absolute, out var uri)
            || uri.Scheme is not ("http" or "https"))
        {
            throw new ConfigException(path, $"'{value}' is not an http or https URL", "Use a URL such as http://autoscaler:8080/demand");
        }

        return uri;
    }
}
