/// Clinical rules of the registry (DOMAIN.md sections 3-6 and 9). Pure: values in, values out.
public enum ClassificationEngine {}
