public enum UpshiftPostgresModule {}
