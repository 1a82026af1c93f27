pub mod structural;
